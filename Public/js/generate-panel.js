// "Generate responses with models" on the project admin page: the prompts file is
// sent in batches of lines to POST /api/projects/{id}/generate; each batch comes
// back once every chosen endpoint has answered its prompts, so the bar moves as
// the models work. Prompts already generated are skipped by the server, so
// running the same file again resumes a stopped run.

import { api, csrf, errorMessage } from "./api.js";

const BATCH = 20;
const $ = (id) => document.getElementById(id);

export function setUpGenerate(projectID, onDone) {
  const chosen = new Set();
  api("GET", "/api/endpoints").then((result) => {
    const box = $("generate-endpoints");
    box.replaceChildren();
    const endpoints = result.data?.endpoints ?? [];
    if (endpoints.length < 2) {
      const note = document.createElement("p");
      note.className = "muted";
      note.textContent = "This server needs at least two model endpoints for this (arbiter serve --endpoints-file; see docs/ARENA.md).";
      box.append(note);
    }
    for (const endpoint of endpoints) {
      const label = document.createElement("label");
      label.className = "check";
      const check = document.createElement("input");
      check.type = "checkbox";
      check.value = endpoint.name;
      check.addEventListener("change", () => {
        if (check.checked) chosen.add(endpoint.name);
        else chosen.delete(endpoint.name);
        refresh();
      });
      label.append(check, document.createTextNode(` ${endpoint.name} — ${endpoint.model}`));
      box.append(label);
    }
  });
  const refresh = () => { $("generate-start").disabled = chosen.size < 2 || !$("generate-file").files.length; };
  $("generate-file").addEventListener("change", refresh);
  $("generate-start").addEventListener("click", async () => {
    const lines = (await $("generate-file").files[0].text()).split("\n");
    const progress = $("generate-progress");
    const result = $("generate-result");
    const total = { prompts: 0, generated: 0, skipped: 0, rows: 0, failures: [] };
    $("generate-start").disabled = true;
    progress.hidden = false;
    progress.max = lines.length;
    progress.value = 0;
    result.textContent = "";
    const token = await csrf();
    for (let start = 0; start < lines.length; start += BATCH) {
      const batch = lines.slice(start, start + BATCH).join("\n");
      if (!batch.trim()) continue;
      const response = await fetch(`/api/projects/${projectID}/generate?endpoints=${encodeURIComponent([...chosen].join(","))}&first_line=${start + 1}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-ndjson", Accept: "application/json", "X-CSRF-Token": token },
        body: batch,
        credentials: "same-origin",
      });
      let data = null;
      try { data = await response.json(); } catch { data = null; }
      if (!response.ok) {
        result.textContent = errorMessage({ status: response.status, data });
        break;
      }
      for (const key of ["prompts", "generated", "skipped", "rows"]) total[key] += data[key];
      total.failures.push(...data.failures);
      progress.value = Math.min(lines.length, start + BATCH);
      result.textContent = `Generated ${total.generated}, skipped ${total.skipped} (already there), failed ${total.failures.length} of ${total.prompts} prompts; ${total.rows} rows added.`;
    }
    if (total.failures.length) {
      const list = document.createElement("ul");
      for (const failure of total.failures.slice(0, 10)) {
        const item = document.createElement("li");
        item.textContent = `line ${failure.line}: ${failure.message}`;
        list.append(item);
      }
      result.append(list);
    }
    progress.hidden = true;
    refresh();
    onDone?.();
  });
}
