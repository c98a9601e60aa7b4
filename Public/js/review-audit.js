// The review page's audit of imported labels, on demand (it trains five small
// models on the server): the clusters in words and the 20 most suspicious pairs,
// each linked to the item browser.

import { api, errorMessage } from "./api.js";

const $ = (id) => document.getElementById(id);
const percent = (value) => (typeof value === "number" && Number.isFinite(value) ? `${Math.round(value * 100)}%` : "—");
const fixed = (value, digits) => (typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—");

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

/** The audit of imported labels, on demand (it trains five small models). */
async function runAudit(projectID) {
  $("audit-run").disabled = true;
  $("audit-summary").hidden = false;
  $("audit-summary").textContent = "Auditing…";
  const result = await api("GET", `/api/projects/${projectID}/audit`);
  $("audit-run").disabled = false;
  if (!result.ok) {
    $("audit-summary").textContent = errorMessage(result);
    return;
  }
  const { pairs, clusters, summary } = result.data;
  if (pairs.length === 0) {
    $("audit-summary").textContent = `${summary.labelled_pairs} pair(s) with imported labels; an audit needs at least 10.`;
    return;
  }
  $("audit-summary").textContent = `${summary.pairs} labelled pairs; the reward model trained without each agrees with `
    + `${percent(summary.model_accuracy)} of the labels; ${summary.suspicious} pair(s) in a suspicious cluster.`;
  const list = $("audit-clusters");
  list.replaceChildren();
  for (const cluster of clusters) {
    const item = document.createElement("li");
    item.textContent = cluster.where === "prompt"
      ? `prompt word “${cluster.word}”: ${cluster.against_model} of ${cluster.pairs} pairs go against the model (p = ${cluster.p.toExponential(1)})`
      : `“${cluster.word}” only in the chosen response: where it is, the rest of the text favours the rejected one in ${cluster.rest_favours_rejected} of ${cluster.pairs} pairs (p = ${cluster.p.toExponential(1)})`;
    list.append(item);
  }
  list.hidden = clusters.length === 0;
  const body = $("audit-table").querySelector("tbody");
  body.replaceChildren();
  for (const entry of pairs.slice(0, 20)) {
    const row = document.createElement("tr");
    row.dataset.pair = entry.pair;
    // The pair's own id is what the item browser opens; its prompt says which it is.
    const link = document.createElement("a");
    link.href = `/projects/${projectID}/items?pair=${encodeURIComponent(entry.pair)}`;
    link.textContent = entry.prompt_preview || entry.pair;
    link.title = entry.pair;
    const td = document.createElement("td");
    td.className = "preview-cell";
    td.append(link);
    row.append(td);
    cell(row, fixed(entry.suspicion, 3));
    cell(row, fixed(entry.p_chosen, 2));
    cell(row, entry.reasons.join("; "));
    body.append(row);
  }
  $("audit-table").hidden = false;
}


/** Wires the button of the audit card to the project's audit. */
export function setUpAudit(projectID) {
  $("audit-run").addEventListener("click", () => runAudit(projectID));
}
