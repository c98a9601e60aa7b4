// The reviewer's page: agreement with intervals and a plain reading, the rater
// table (sortable), the flagged queue with quarantine / clear for admins, a
// Cohen's kappa heatmap (SVG built with DOM calls), and the most contested pairs.

import { api, errorMessage, me } from "./api.js";

const projectID = Number(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let user = null;
let raters = [];
let sortKey = "suspicion";
let sortDescending = true;

function fixed(value, digits = 3) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";
}

function percent(value) {
  return typeof value === "number" && Number.isFinite(value) ? `${Math.round(value * 100)}%` : "—";
}

/** Krippendorff's own guidance: α ≥ .800 reliable, ≥ .667 tentative, below that not. */
function reading(alpha) {
  if (typeof alpha !== "number") return "Not enough overlapping judgements to measure agreement yet.";
  if (alpha >= 0.8) return `Raters agree well (α = ${fixed(alpha)}): the labels are reliable.`;
  if (alpha >= 0.667) return `Raters agree moderately (α = ${fixed(alpha)}): usable for tentative conclusions; check the contested pairs and the guidelines.`;
  return `Raters agree poorly (α = ${fixed(alpha)}): the task, the guidelines or some raters need attention before training on these labels.`;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

async function loadAgreement() {
  const result = await api("GET", `/api/projects/${projectID}/agreement`);
  if (!result.ok) throw new Error(errorMessage(result));
  const report = result.data;
  $("reading").textContent = reading(report.krippendorff_alpha.interval ?? report.krippendorff_alpha.nominal);
  const body = $("agreement-table").querySelector("tbody");
  body.replaceChildren();
  for (const level of ["nominal", "ordinal", "interval"]) {
    const row = document.createElement("tr");
    cell(row, `Krippendorff's α (${level})`);
    cell(row, fixed(report.krippendorff_alpha[level]));
    const ci = report.alpha_ci95[level];
    cell(row, ci ? `${fixed(ci[0])} – ${fixed(ci[1])}` : "—");
    body.append(row);
  }
  for (const [name, value, note] of [
    ["Fleiss' κ", report.fleiss_kappa.value, `${report.fleiss_kappa.pairs} pairs × ${report.fleiss_kappa.raters_per_pair} raters`],
    ["Percent agreement", report.percent_agreement, ""],
  ]) {
    const row = document.createElement("tr");
    cell(row, name);
    cell(row, name.startsWith("Percent") ? percent(value) : fixed(value));
    cell(row, note);
    body.append(row);
  }
  $("excluded").textContent = `${report.units} pairs, ${report.judgements} judgements, ${report.raters} raters. `
    + `Left out: ${report.excluded.judgements} judgements of ${report.excluded.quarantined_raters} quarantined rater(s).`;
  drawHeatmap(report.cohen_kappa);
  const contested = $("contested");
  contested.replaceChildren();
  for (const pair of report.contested_pairs) {
    const item = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = pair.pair_id;
    item.append(title, document.createTextNode(` — entropy ${fixed(pair.entropy, 2)} bits: `));
    item.append(document.createTextNode(pair.ratings.map((r) => `${r.annotator}: ${r.choice}`).join(", ")));
    contested.append(item);
  }
}

function drawHeatmap(pairs) {
  const container = $("heatmap");
  container.replaceChildren();
  if (pairs.length === 0) {
    container.textContent = "No two raters share 10 pairs yet.";
    return;
  }
  const names = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort();
  const size = 22;
  const margin = 110;
  const svg = document.createElementNS(SVG, "svg");
  const width = margin + names.length * size;
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(width));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Cohen's kappa for each pair of raters");
  const index = new Map(names.map((name, i) => [name, i]));
  names.forEach((name, i) => {
    for (const [x, y, anchor] of [[margin - 6, margin + i * size + size * 0.7, "end"]]) {
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("x", String(x));
      label.setAttribute("y", String(y));
      label.setAttribute("text-anchor", anchor);
      label.setAttribute("class", "heat-label");
      label.textContent = name;
      svg.append(label);
    }
    const top = document.createElementNS(SVG, "text");
    top.setAttribute("transform", `translate(${margin + i * size + size * 0.7}, ${margin - 6}) rotate(-60)`);
    top.setAttribute("class", "heat-label");
    top.textContent = name;
    svg.append(top);
  });
  for (const pair of pairs) {
    for (const [a, b] of [[pair.a, pair.b], [pair.b, pair.a]]) {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(margin + index.get(a) * size));
      rect.setAttribute("y", String(margin + index.get(b) * size));
      rect.setAttribute("width", String(size - 2));
      rect.setAttribute("height", String(size - 2));
      const kappa = typeof pair.kappa === "number" ? Math.max(0, Math.min(1, pair.kappa)) : 0;
      rect.setAttribute("fill-opacity", (0.1 + 0.9 * kappa).toFixed(2));
      rect.setAttribute("class", "heat-cell");
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${a} × ${b}: κ = ${fixed(pair.kappa)} over ${pair.shared} pairs`;
      rect.append(title);
      svg.append(rect);
    }
  }
  container.append(svg);
}

function metric(rater, key) {
  const s = rater.signals ?? {};
  switch (key) {
    case "consensus": return s.consensus?.rate ?? -1;
    case "gold": return s.gold?.posterior_mean ?? -1;
    case "left": return s.position?.left_rate ?? -1;
    case "time": return rater.median_duration_ms ?? -1;
    case "annotations": return rater.annotations;
    case "suspicion": return rater.suspicion;
    case "status": return rater.status;
    default: return rater.annotator;
  }
}

function renderRaters() {
  const sorted = [...raters].sort((x, y) => {
    const a = metric(x, sortKey);
    const b = metric(y, sortKey);
    const order = typeof a === "string" ? String(a).localeCompare(String(b)) : a - b;
    return sortDescending ? -order : order;
  });
  const body = $("raters").querySelector("tbody");
  body.replaceChildren();
  for (const rater of sorted) {
    const row = document.createElement("tr");
    row.dataset.annotator = rater.annotator;
    cell(row, rater.annotator);
    cell(row, String(rater.annotations));
    cell(row, percent(rater.signals?.consensus?.rate));
    cell(row, percent(rater.signals?.gold?.posterior_mean));
    cell(row, percent(rater.signals?.position?.left_rate));
    cell(row, rater.median_duration_ms == null ? "—" : `${(rater.median_duration_ms / 1000).toFixed(1)} s`);
    cell(row, percent(rater.suspicion));
    cell(row, rater.status).className = `rater-status ${rater.status}`;
    cell(row, rater.reasons.map((r) => r.detail).join("; "));
    body.append(row);
  }
  for (const button of document.querySelectorAll("[data-sort]")) {
    button.setAttribute("aria-pressed", String(button.dataset.sort === sortKey));
  }
}

function renderQueue() {
  const queue = $("queue");
  queue.replaceChildren();
  const flagged = raters.filter((r) => r.status === "flagged" || r.status === "quarantined");
  $("queue-empty").hidden = flagged.length > 0;
  for (const rater of flagged) {
    const item = document.createElement("li");
    item.className = "card queue-item";
    item.dataset.annotator = rater.annotator;
    const title = document.createElement("h3");
    title.textContent = `${rater.annotator} — ${rater.status}, suspicion ${percent(rater.suspicion)}`;
    item.append(title);
    const reasons = document.createElement("ul");
    for (const reason of rater.reasons) {
      const li = document.createElement("li");
      li.textContent = `${reason.signal}: ${reason.detail}`;
      reasons.append(li);
    }
    item.append(reasons);
    if (rater.comment) {
      const note = document.createElement("p");
      note.className = "muted";
      note.textContent = `Admin's note: ${rater.comment}`;
      item.append(note);
    }
    if (user?.role === "admin") {
      const label = document.createElement("label");
      label.textContent = "Comment";
      const comment = document.createElement("input");
      comment.className = "decision-comment";
      label.append(comment);
      item.append(label);
      for (const [status, text] of [["quarantined", "Quarantine"], ["cleared", "Clear"]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = `decide-${status}`;
        button.textContent = text;
        button.addEventListener("click", () => decide(rater.annotator, status, comment.value));
        item.append(button);
      }
    }
    queue.append(item);
  }
}

async function decide(annotator, status, comment) {
  const result = await api("POST", `/api/projects/${projectID}/raters/${encodeURIComponent(annotator)}/status`, { status, comment });
  if (!result.ok) {
    showStatus(errorMessage(result));
    return;
  }
  showStatus(`${annotator}: ${status}.`);
  await Promise.all([loadRaters(), loadAgreement()]);
}

function showStatus(message) {
  $("status").textContent = message;
  $("status").className = "status ok";
  $("status").hidden = false;
}

async function loadRaters() {
  const result = await api("GET", `/api/projects/${projectID}/raters`);
  if (!result.ok) throw new Error(errorMessage(result));
  raters = result.data.raters;
  renderRaters();
  renderQueue();
}

for (const button of document.querySelectorAll("[data-sort]")) {
  button.addEventListener("click", () => {
    if (sortKey === button.dataset.sort) sortDescending = !sortDescending;
    else {
      sortKey = button.dataset.sort;
      sortDescending = true;
    }
    renderRaters();
  });
}

async function start() {
  user = await me();
  const project = await api("GET", `/api/projects/${projectID}`);
  if (project.ok) $("project-name").textContent = project.data.project.name;
  await Promise.all([loadAgreement(), loadRaters()]);
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  $("status").textContent = error.message ?? "Cannot load the review.";
  $("status").className = "status error";
  $("status").hidden = false;
});
