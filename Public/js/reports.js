// The project page's "Reports" card: problems annotators reported, each with the
// pair's prompt and both responses (safe Markdown, as annotators saw them) and a
// button to mark it resolved.
import { api, errorMessage } from "./api.js";
import { element } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

function promptText(prompt) {
  return typeof prompt === "string" ? prompt : prompt.map((message) => `**${message.role}:** ${message.content}`).join("\n\n");
}

export async function loadReports(projectID, container, status) {
  const result = await api("GET", `/api/projects/${projectID}/reports`);
  if (!result.ok) return status(errorMessage(result));
  const reports = result.data.reports;
  container.replaceChildren();
  if (reports.length === 0) {
    container.append(element("p", "No open reports.", "muted"));
    return;
  }
  const list = element("ul", undefined, "reports");
  for (const report of reports) {
    const item = element("li", undefined, "report card");
    item.dataset.report = String(report.id);
    const head = element("p");
    head.append(element("strong", report.pair_id), document.createTextNode(` — reported by ${report.reporter}, ${new Date(report.created_at).toLocaleString()}`));
    const reason = element("blockquote", report.reason, "report-reason");
    reason.dir = "auto";
    const details = element("details");
    details.append(element("summary", "The pair"));
    for (const [label, text] of [["Prompt", promptText(report.prompt)], ["Response A", report.response_a], ["Response B", report.response_b]]) {
      details.append(element("h4", label));
      const body = element("div", undefined, "markdown");
      renderMarkdown(text, body);
      details.append(body);
    }
    const resolve = element("button", "Mark resolved");
    resolve.type = "button";
    resolve.addEventListener("click", async () => {
      const answer = await api("POST", `/api/reports/${report.id}/resolve`);
      if (!answer.ok) return status(errorMessage(answer));
      status("Report resolved.", true);
      await loadReports(projectID, container, status);
    });
    item.append(head, reason, details, resolve);
    list.append(item);
  }
  container.append(list);
}
