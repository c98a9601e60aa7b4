// The review page's model judges: the judge–human table (agreement with people and
// gold with 95% intervals, position, consistency, unreadable answers, the detector's
// view, cost), each judge's verdicts with its rationale, and for admins: add, run
// and remove judges. Everything a model wrote is shown as text.

import { api, errorMessage } from "./api.js";
import { button, cell, element, number } from "./dom.js";

const $ = (id) => document.getElementById(id);

const percent = (value) => (value == null ? "—" : `${(100 * value).toFixed(1)}%`);

/** "87.5% (35 of 40; 95%: 74–95%)", or "—". */
function rate(r) {
  if (!r || r.n === 0) return "—";
  const interval = r.ci95 ? `; 95%: ${Math.round(100 * r.ci95[0])}–${Math.round(100 * r.ci95[1])}%` : "";
  return `${percent(r.rate)} (${r.right} of ${r.n}${interval})`;
}

let verdictJudge = null;
let verdictNext = null;
let polling = null;

export async function setUpJudges(projectID, user, ratersOf, onChange) {
  const admin = user?.role === "admin";
  const form = $("judge-form");
  if (admin) {
    const endpoints = await api("GET", "/api/endpoints");
    const select = $("judge-endpoint");
    for (const endpoint of endpoints.ok ? endpoints.data.endpoints : []) select.append(element("option", endpoint.name));
    form.hidden = select.options.length === 0;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { name: $("judge-name").value.trim(), endpoint: select.value };
      const template = $("judge-template").value;
      if (template.trim() && template !== $("judge-template").dataset.default) body.template = template;
      const answer = await api("POST", `/api/projects/${projectID}/judges`, body);
      if (!answer.ok) return say(errorMessage(answer), true);
      $("judge-name").value = "";
      say(`Judge ${answer.data.judge.name} added: run it to judge the project's pairs.`);
      await load();
    });
  }

  function say(message, error = false) {
    $("status").textContent = message;
    $("status").className = error ? "status error" : "status ok";
    $("status").hidden = false;
  }

  async function load() {
    const answer = await api("GET", `/api/projects/${projectID}/judges`);
    if (!answer.ok) return;
    const report = answer.data;
    const template = $("judge-template");
    if (!template.value) {
      template.value = report.default_template;
      template.dataset.default = report.default_template;
    }
    $("judges").hidden = report.judges.length === 0 && form.hidden;
    $("judges-note").textContent = `One person sides with the others' majority ${rate(report.people_with_people)} — the yardstick for "agrees with people". `
      + (report.counted ? "Exports count the judges the detector does not flag, weighted by their estimated accuracy."
        : "Exports do not count judges (the project's count_judges is off; an export may ask with include_judges).");
    const body = $("judges-table").querySelector("tbody");
    body.replaceChildren();
    const raters = ratersOf();
    for (const judge of report.judges) {
      const m = judge.measures;
      const row = element("tr");
      row.dataset.judge = judge.name;
      cell(row, `${judge.name} (${judge.endpoint}${judge.endpoint_configured ? "" : ", not configured here"})`);
      cell(row, judge.state + (judge.last_error ? `: ${judge.last_error}` : "")).className = `judge-state ${judge.state}`;
      cell(row, `${number(judge.verdicts)} (${number(judge.pending)} to go)`);
      cell(row, rate(m.with_people));
      cell(row, rate(m.gold));
      cell(row, rate(m.shown_first));
      cell(row, `${number(m.inconsistent)} of ${number(m.verdicts - m.unreadable)}`);
      cell(row, number(judge.unreadable));
      const entry = raters.find((r) => r.annotator === judge.rater);
      // The signals' names in the table; what each found, a click away.
      const detector = element("td");
      if (!entry) detector.textContent = "—";
      else if (entry.status === "flagged") {
        const details = element("details");
        details.append(element("summary", `flagged: ${entry.reasons.map((r) => r.signal).join(", ")}`),
          element("p", entry.reasons.map((r) => `${r.signal}: ${r.detail}`).join("; ")));
        detector.append(details);
        detector.className = "rater-status flagged";
      } else detector.textContent = `ok (P(honest) ${entry.honest_probability == null ? "—" : entry.honest_probability.toFixed(2)})`;
      row.append(detector);
      cell(row, `${number(judge.cost.requests)} requests (${number(judge.cost.failed_requests)} failed), `
        + `${number(judge.cost.prompt_tokens)} + ${number(judge.cost.completion_tokens)} tokens`);
      const actions = element("td");
      const open = button("Verdicts", () => openVerdicts(judge.name));
      open.className = "link-button";
      open.setAttribute("aria-label", `${judge.name}'s verdicts`);
      actions.append(open);
      if (admin) {
        const run = button(judge.state === "running" ? "Running…" : judge.pending > 0 ? "Run" : "Run again", async () => {
          const started = await api("POST", `/api/projects/${projectID}/judges/${encodeURIComponent(judge.name)}/run`);
          if (!started.ok) return say(errorMessage(started), true);
          say(`${judge.name} is judging ${number(started.data.judge.pending)} pair(s) in the background.`);
          await load();
        });
        run.disabled = judge.state === "running";
        run.setAttribute("aria-label", `Run ${judge.name}`);
        const remove = button("Remove", async () => {
          if (!confirm(`Remove ${judge.name} and its ${judge.verdicts} verdicts?`)) return;
          const removed = await api("DELETE", `/api/projects/${projectID}/judges/${encodeURIComponent(judge.name)}`);
          if (!removed.ok) return say(errorMessage(removed), true);
          await load();
          await onChange();
        });
        remove.setAttribute("aria-label", `Remove ${judge.name}`);
        actions.append(" ", run, " ", remove);
      }
      row.append(actions);
      body.append(row);
    }
    // While a judge runs, the table follows it.
    const running = report.judges.some((j) => j.state === "running");
    clearTimeout(polling);
    if (running) polling = setTimeout(async () => { await onChange(); await load(); }, 2000);
  }

  async function openVerdicts(name) {
    verdictJudge = name;
    verdictNext = null;
    $("judge-verdicts-table").querySelector("tbody").replaceChildren();
    $("judge-verdicts-title").textContent = `${name}'s verdicts`;
    $("judge-verdicts").hidden = false;
    await loadVerdicts();
    $("judge-verdicts").scrollIntoView({ block: "start" });
  }

  async function loadVerdicts() {
    const params = new URLSearchParams({ limit: "100" });
    if (verdictNext) params.set("after", String(verdictNext));
    const answer = await api("GET", `/api/projects/${projectID}/judges/${encodeURIComponent(verdictJudge)}/verdicts?${params}`);
    if (!answer.ok) return say(errorMessage(answer), true);
    const body = $("judge-verdicts-table").querySelector("tbody");
    for (const verdict of answer.data.verdicts) {
      const row = element("tr");
      const link = element("a", verdict.pair);
      link.href = `/projects/${projectID}/items?pair=${encodeURIComponent(verdict.pair)}`;
      cell(row, link);
      cell(row, `${verdict.first_shown} shown first`);
      cell(row, `${verdict.first_answer ?? "unreadable"}, then ${verdict.second_answer ?? "unreadable"}`);
      cell(row, verdict.choice ?? "—");
      cell(row, verdict.gold ?? "—");
      const rationale = element("details");
      rationale.append(element("summary", verdict.rationale.slice(0, 80) || "—"), element("pre", verdict.rationale, "rationale"));
      cell(row, rationale);
      body.append(row);
    }
    verdictNext = answer.data.next_after;
    $("judge-verdicts-more").hidden = verdictNext == null;
  }
  $("judge-verdicts-more").addEventListener("click", () => loadVerdicts());

  await load();
  return { load, openVerdicts };
}
