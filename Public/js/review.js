// The reviewer's page: agreement with intervals and a plain reading, the rater
// table (sortable), the flagged queue with quarantine / clear (reviewers and admins), a
// Cohen's kappa heatmap (SVG built with DOM calls), the most contested pairs, and
// a drill-down per rater: every judgement with the pair, the others' votes and the
// signals it fed, filtered to departures; with the decisions for any rater; and,
// on demand, the audit of the project's imported labels (review-audit.js); the
// models behind the responses, ranked (review-leaderboard.js); model judges beside
// the people, with their own table (review-judges.js).

import { api, errorMessage, me, signOut } from "./api.js";
import { setUpAudit } from "./review-audit.js";
import { loadLeaderboard } from "./review-leaderboard.js";
import { setUpJudges } from "./review-judges.js";
import { element } from "./dom.js";
import { drawHeatmap } from "./review-heatmap.js";

const projectID = Number(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);
let user = null;

$("sign-out").addEventListener("click", () => signOut());
$("items-link").href = `/projects/${projectID}/items`;
let drillRater = null;
let drillNext = null;
let raters = [];
let sortKey = "suspicion";
let sortDescending = true;
let judges = null;

function fixed(value, digits = 3) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";
}

function percent(value) {
  return typeof value === "number" && Number.isFinite(value) ? `${Math.round(value * 100)}%` : "—";
}

/** A probability with the digits that matter near 0 and 1: "< 0.001", "0.42", "> 0.999". */
function probability(value) {
  if (value < 0.001) return "< 0.001";
  if (value > 0.999) return "> 0.999";
  return value < 0.01 || value > 0.99 ? value.toFixed(3) : value.toFixed(2);
}

/** Krippendorff's own guidance: α ≥ .800 reliable, ≥ .667 tentative, below that not. */
function reading(alpha, level) {
  if (typeof alpha !== "number") return "Not enough overlapping judgements to measure agreement yet.";
  if (alpha >= 0.8) return `Raters agree well (${level} α = ${fixed(alpha)}): the labels are reliable.`;
  if (alpha >= 0.667) return `Raters agree moderately (${level} α = ${fixed(alpha)}): usable for tentative conclusions; check the contested pairs and the guidelines.`;
  return `Raters agree poorly (${level} α = ${fixed(alpha)}): the task, the guidelines or some raters need attention before training on these labels.`;
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
  const level = report.krippendorff_alpha.interval == null ? "nominal" : "interval";
  $("reading").textContent = reading(report.krippendorff_alpha[level], level);
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
  // Ranking projects: Kendall's W and α over ranks; rating projects: α per attribute.
  const extra = [];
  if (report.kendall_w) {
    extra.push(["Kendall's W (tie-corrected)", fixed(report.kendall_w.value), `mean over ${report.kendall_w.tasks} tasks with ≥ 2 rankings`]);
    extra.push(["Krippendorff's α over ranks (ordinal)", fixed(report.rank_alpha?.ordinal), "each response's rank"]);
  }
  for (const [attribute, entry] of Object.entries(report.per_attribute ?? {})) {
    extra.push([`α of “${attribute}” (interval)`, fixed(entry.krippendorff_alpha.interval), `${entry.ratings} scores; ordinal ${fixed(entry.krippendorff_alpha.ordinal)}`]);
  }
  for (const [name, value, note] of extra) {
    const row = document.createElement("tr");
    row.className = "task-agreement";
    cell(row, name);
    cell(row, value);
    cell(row, note);
    body.append(row);
  }
  const units = report.kind && report.kind !== "pairwise" ? "implied pairs" : "pairs";
  $("excluded").textContent = `${report.units} ${units}, ${report.judgements} judgements, ${report.raters} raters. `
    + `Left out: ${report.excluded.judgements} judgements of ${report.excluded.quarantined_raters} quarantined rater(s).`;
  drawHeatmap(report.cohen_kappa);
  const contested = $("contested");
  contested.replaceChildren();
  for (const pair of report.contested_pairs) {
    const item = document.createElement("li");
    const title = document.createElement("a");
    title.href = `/projects/${projectID}/items?pair=${encodeURIComponent(pair.pair_id)}`;
    title.className = "contested-pair";
    title.textContent = pair.pair_id;
    item.append(title, document.createTextNode(` — entropy ${fixed(pair.entropy, 2)} bits: `));
    item.append(document.createTextNode(pair.ratings.map((r) => `${r.annotator}: ${r.choice}`).join(", ")));
    contested.append(item);
  }
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
    case "honest": return rater.honest_probability ?? -1;
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
    const name = cell(row, rater.annotator);
    if (rater.kind === "judge") {
      row.classList.add("judge-row");
      name.append(" ", element("span", "model judge", "badge"));
    }
    cell(row, String(rater.annotations));
    cell(row, percent(rater.signals?.consensus?.rate));
    // The gold signal reads from 5 gold judgements on; fewer are shown as a count.
    const gold = rater.gold ?? { right: 0, judged: 0 };
    cell(row, rater.signals?.gold ? percent(rater.signals.gold.posterior_mean)
      : gold.judged > 0 ? `${gold.right} of ${gold.judged} (5 needed)` : "—");
    cell(row, percent(rater.signals?.position?.left_rate));
    cell(row, rater.median_duration_ms == null ? "—" : `${(rater.median_duration_ms / 1000).toFixed(1)} s`);
    cell(row, percent(rater.suspicion));
    cell(row, rater.honest_probability == null ? "—" : probability(rater.honest_probability));
    cell(row, rater.status).className = `rater-status ${rater.status}`;
    if (rater.status === "flagged" && rater.finding) {
      const finding = document.createElement("span");
      finding.className = `rater-finding ${rater.finding}`;
      finding.textContent = ` (${rater.finding})`;
      finding.title = findingMeaning[rater.finding];
      row.cells[row.cells.length - 1].append(finding);
    }
    if (rater.status === "ok" && rater.evidence === "not_enough") {
      const note = document.createElement("span");
      note.className = "muted evidence-note";
      note.textContent = " (too few judgements to tell from chance yet)";
      note.title = "P(honest) is high mostly because most raters in this crowd are honest: a rater answering at random would score as high on this few judgements.";
      row.cells[row.cells.length - 1].append(note);
    }
    cell(row, rater.reasons.map((r) => r.detail).join("; "));
    const drill = document.createElement("button");
    drill.type = "button";
    drill.className = "link-button drill-open";
    drill.textContent = "Open";
    drill.setAttribute("aria-label", `Open ${rater.annotator}'s judgements`);
    drill.addEventListener("click", () => (rater.kind === "judge"
      ? judges?.openVerdicts(rater.annotator.slice("judge:".length)) : openDrill(rater.annotator)));
    const td = document.createElement("td");
    td.append(drill);
    row.append(td);
    body.append(row);
  }
  for (const button of document.querySelectorAll("[data-sort]")) {
    button.setAttribute("aria-pressed", String(button.dataset.sort === sortKey));
  }
}

/** What each kind of finding means for the data (the export's default follows it). */
const findingMeaning = {
  malicious: "Chance, inverting, a position, length or speed script, collusion or a targeted word: left out of exports by default (a weighted export keeps those flagged only for being at chance or inverting, weighted by their accuracy).",
  unreliable: "Honest-looking but far below this crowd's strong raters: left out of majority exports, kept and weighted by accuracy in weighted ones.",
};

function renderQueue() {
  const queue = $("queue");
  queue.replaceChildren();
  // People only: a judge's flag is shown in the judges' table (it is not quarantined, just not counted).
  const flagged = raters.filter((r) => r.kind !== "judge" && (r.status === "flagged" || r.status === "quarantined"));
  $("queue-empty").hidden = flagged.length > 0;
  $("flagged-items").hidden = flagged.length === 0;
  $("flagged-items").href = `/projects/${projectID}/items?raters=${encodeURIComponent(flagged.map((r) => r.annotator).join(","))}`;
  for (const rater of flagged) {
    const item = document.createElement("li");
    item.className = "card queue-item";
    item.dataset.annotator = rater.annotator;
    const title = document.createElement("h3");
    const finding = rater.status === "flagged" && rater.finding ? ` as ${rater.finding}` : "";
    title.textContent = `${rater.annotator} — ${rater.status}${finding}, suspicion ${percent(rater.suspicion)}`;
    item.append(title);
    if (finding) {
      const meaning = document.createElement("p");
      meaning.className = "muted finding-meaning";
      meaning.textContent = findingMeaning[rater.finding];
      item.append(meaning);
    }
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
      note.textContent = `Note: ${rater.comment}`;
      item.append(note);
    }
    // Reviewers and admins decide; the decision and its comment are audited.
    if (user && user.role !== "annotator") {
      const label = document.createElement("label");
      label.textContent = "Comment";
      const comment = document.createElement("input");
      comment.className = "decision-comment";
      label.append(comment);
      item.append(label);
      // What can still be decided: a quarantined rater can be let back in (their
      // status goes back to what the detector says) or cleared; a flagged one
      // quarantined or cleared of the flag.
      const choices = rater.status === "quarantined"
        ? [["ok", "Lift the quarantine"], ["cleared", "Clear of the flag"]]
        : [["quarantined", "Quarantine"], ["cleared", "Clear of the flag"]];
      const actions = document.createElement("div");
      actions.className = "row-actions";
      for (const [status, text] of choices) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = `decide-${status}`;
        button.textContent = text;
        button.addEventListener("click", () => decide(rater.annotator, status, comment.value));
        actions.append(button);
      }
      item.append(actions);
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
  await Promise.all([loadRaters(), loadAgreement(), loadLeaderboard(projectID)]);
  if (drillRater === annotator) describeDrill();
}

// MARK: Drill-down

function describeDrill() {
  const rater = raters.find((r) => r.annotator === drillRater);
  $("drill-title").textContent = `${drillRater}'s judgements`;
  $("drill-summary").textContent = rater
    ? `${rater.annotations} judgements · status ${rater.status}${rater.status === "flagged" && rater.finding ? ` (${rater.finding})` : ""}${rater.comment ? ` (“${rater.comment}”)` : ""} · consensus agreement ${percent(rater.signals?.consensus?.rate)} · suspicion ${percent(rater.suspicion)}`
    : "";
}

async function openDrill(annotator) {
  drillRater = annotator;
  $("drill").hidden = false;
  $("drill").dataset.annotator = annotator;
  $("drill-items").href = `/projects/${projectID}/items?raters=${encodeURIComponent(annotator)}`;
  describeDrill();
  await loadDrill(true);
  $("drill").scrollIntoView({ block: "start" });
}

async function loadDrill(reset) {
  const body = $("drill-table").querySelector("tbody");
  if (reset) {
    body.replaceChildren();
    drillNext = null;
  }
  const params = new URLSearchParams({ limit: "100", departures: String($("drill-departures").checked) });
  if (drillNext) params.set("after", String(drillNext));
  const result = await api("GET", `/api/projects/${projectID}/raters/${encodeURIComponent(drillRater)}/judgements?${params}`);
  if (!result.ok) {
    showStatus(errorMessage(result));
    return;
  }
  for (const judgement of result.data.judgements) {
    const row = document.createElement("tr");
    const first = document.createElement("td");
    const link = document.createElement("a");
    link.href = `/projects/${projectID}/items?pair=${encodeURIComponent(judgement.pair)}`;
    link.textContent = judgement.pair;
    first.append(link);
    row.append(first);
    const prompt = typeof judgement.prompt === "string" ? judgement.prompt : (judgement.prompt.filter((m) => m.role === "user").pop()?.content ?? "");
    cell(row, prompt.length > 120 ? `${prompt.slice(0, 119)}…` : prompt);
    cell(row, judgement.kind + (judgement.gold_correct === true ? " ✓" : judgement.gold_correct === false ? " ✗" : ""));
    cell(row, judgement.choice);
    cell(row, `${judgement.others.A} · ${judgement.others.B}`);
    cell(row, judgement.departs === true ? "yes" : judgement.departs === false ? "no" : "—").className = judgement.departs ? "departs" : "";
    cell(row, judgement.picked_side ?? "—");
    cell(row, judgement.duration_ms == null ? "—" : `${(judgement.duration_ms / 1000).toFixed(1)} s`);
    cell(row, judgement.signals.join(", ") || "—");
    body.append(row);
  }
  if (body.children.length === 0) {
    const row = document.createElement("tr");
    cell(row, $("drill-departures").checked ? "No judgement departs from the others' consensus." : "No judgements.").colSpan = 9;
    body.append(row);
  }
  drillNext = result.data.next_after;
  $("drill-more").hidden = drillNext == null;
}

$("drill-departures").addEventListener("change", () => loadDrill(true));
$("drill-more").addEventListener("click", () => loadDrill(false));
for (const button of document.querySelectorAll(".drill-decide")) {
  button.addEventListener("click", () => decide(drillRater, button.dataset.status, $("drill-comment").value));
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
  const model = result.data.model;
  $("crowd-model").textContent = `Crowd model: ${percent(model.honest_share)} of raters honest. `
    + (model.flagged === 0 ? "Nobody flagged. "
      : `${model.flagged} flagged; by the strongest evidence behind each flag, about ${model.expected_false_flags.toFixed(2)} of them expected to be honest `
        + "(P(honest) in the table weighs agreement with the crowd alone, so a script seen in the clicks can be certain while agreement says less). ")
    + `${model.not_enough_evidence} rater(s) with too few judgements to tell from chance yet.`;
  renderRaters();
  renderQueue();
}

setUpAudit(projectID);

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
  if (user.role === "annotator") {
    // Nothing here is theirs: say so, and show no empty tables or buttons.
    for (const section of document.querySelectorAll("main > :not(#status)")) section.hidden = true;
    $("status").textContent = "The review page is for reviewers and admins. Your projects are on the home page.";
    $("status").className = "status error";
    $("status").hidden = false;
    document.body.dataset.ready = "true";
    return;
  }
  const project = await api("GET", `/api/projects/${projectID}`);
  if (project.ok) $("project-name").textContent = project.data.project.name;
  await Promise.all([loadAgreement(), loadRaters(), loadLeaderboard(projectID)]);
  judges = await setUpJudges(projectID, user, () => raters, loadRaters);
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  $("status").textContent = error.message ?? "Cannot load the review.";
  $("status").className = "status error";
  $("status").hidden = false;
});
