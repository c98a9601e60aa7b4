// The item browser (reviewers and admins): a project's pairs searched, filtered
// and sorted, in keyset pages (`next`); a pair opens with its texts, every
// judgement with its rater, its reports, and its final label, which a reviewer
// sets here. The filters live in the address, so a link can carry them (the
// review page links to "pairs judged by these raters").

import { api, errorMessage, me, signOut } from "./api.js";
import { renderMarkdown } from "./markdown.js";
import { renderPrompt } from "./prompt-view.js";
import { stackOnPhones } from "./dom.js";

const projectID = Number(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);
const FILTERS = ["q", "state", "min_judgements", "min_disagreement", "reported", "gold", "labelled", "raters", "sort"];
const CHOICE_NAMES = { A: "A", B: "B", tie: "tie", both_bad: "both bad" };
// Why an export writes no preference for a pair.
const DROPPED = {
  no_majority: "the counted votes are split evenly",
  tie: "the counted votes say tie",
  both_bad: "the counted votes say both are bad",
  below_min_agreement: "the crowd's share is below the export's minimum",
  gold_tie: "its gold key is a tie",
  gold_both_bad: "its gold key is both bad",
  reviewer_tie: "a reviewer's final label is tie",
  reviewer_both_bad: "a reviewer's final label is both bad",
  no_counted_judgements: "no judgement counts yet",
};
const votesText = (votes) => `A ${votes.A}, B ${votes.B}, tie ${votes.tie}, both bad ${votes.both_bad}`;

/** What a default export writes for the pair, in a sentence. */
function decisionText(decision, judgements) {
  const excluded = judgements.filter((judgement) => judgement.counted === false);
  const apart = excluded.length
    ? ` Left out: ${excluded.map((judgement) => `${judgement.annotator} (${CHOICE_NAMES[judgement.choice]}, ${judgement.excluded_reason})`).join(", ")}.`
    : "";
  const counted = `Counted votes: ${votesText(decision.counted)}.`;
  if (!decision.label) return `The export leaves this pair out: ${DROPPED[decision.dropped] ?? decision.dropped}. ${counted}${apart}`;
  const why = decision.label_source === "gold"
    ? "its gold key"
    : decision.label_source === "reviewer"
      ? "a reviewer's final label"
      : `the crowd's ${decision.aggregate} decision${decision.share == null ? "" : `, ${Math.round(decision.share * 100)}% sure`}`;
  return `The export writes ${decision.label} as chosen (label_source "${decision.label_source}": ${why}). ${counted}${apart}`;
}

// A stored ranking ([2, [0, 1], 3]) as "3 > 1 = 2 > 4" (responses numbered from 1).
const rankingText = (ranking) => ranking.map((entry) => (Array.isArray(entry) ? entry : [entry]).map((i) => i + 1).join(" = ")).join(" > ");
// Ratings per response as "1: helpfulness 3, correctness 4 · 2: …".
const ratingsText = (ratings) => ratings.map((scores, index) =>
  `${index + 1}: ${Object.entries(scores).map(([name, score]) => `${name} ${score}`).join(", ")}`).join(" · ");
const PAGE = 50;
let next = null;
let examined = 0;
let shown = 0;
let openPair = null;
let kind = "pairwise";

$("sign-out").addEventListener("click", () => signOut());
// On a phone each pair (and each judgement) is a card, the prompt at full width.
stackOnPhones($("pairs"));
stackOnPhones($("detail-judgements"));
$("review-link").href = `/projects/${projectID}/review`;

function showStatus(message, kind = "ok") {
  $("status").textContent = message;
  $("status").className = `status ${kind}`;
  $("status").hidden = false;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

/** The filters as query parameters (empty ones left out). */
function filterParams() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = $(name).value.trim();
    if (value !== "" && !(name === "sort" && value === "id")) params.set(name, value);
  }
  return params;
}

function readAddress() {
  const params = new URLSearchParams(location.search);
  for (const name of FILTERS) {
    if (params.has(name)) $(name).value = params.get(name);
  }
  return params.get("pair");
}

function writeAddress() {
  const params = filterParams();
  if (openPair) params.set("pair", openPair);
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? `?${query}` : ""));
}

async function load(reset) {
  if (reset) {
    next = null;
    examined = 0;
    shown = 0;
    $("pairs").querySelector("tbody").replaceChildren();
  }
  $("more").hidden = true;
  $("status").hidden = true;
  let found = 0;
  let pending = false;
  // A rare filter fills a page over several windows: ask again (each request is
  // bounded by the server) until the page is full, the end is reached, or 40
  // windows have gone by — then offer "More".
  for (let round = 0; round < 40; round += 1) {
    const params = filterParams();
    params.set("limit", String(PAGE - found));
    if (next) params.set("after", next);
    const result = await api("GET", `/api/projects/${projectID}/pairs?${params}`);
    if (!result.ok) {
      showStatus(errorMessage(result), "error");
      return;
    }
    const page = result.data;
    for (const pair of page.pairs) addRow(pair);
    found += page.pairs.length;
    examined += page.examined ?? 0;
    pending ||= page.search_pending === true;
    next = page.next;
    if (!next || found >= PAGE) break;
  }
  shown += found;
  $("more").hidden = !next;
  $("summary").textContent = shown === 0 && !next
    ? "No pair matches."
    : `${shown} pair${shown === 1 ? "" : "s"} shown${next ? "; more below" : ", all that match"}.`;
  if (pending) $("summary").textContent += " Recently imported pairs are still being indexed for search; some may be missing.";
}

function addRow(pair) {
  const row = document.createElement("tr");
  row.dataset.pair = pair.id;
  const first = document.createElement("td");
  const open = document.createElement("button");
  open.type = "button";
  open.className = "link-button open-pair";
  open.textContent = pair.id;
  open.addEventListener("click", () => showPair(pair.id));
  first.append(open);
  if (pair.gold) first.append(document.createTextNode(" (gold)"));
  row.append(first);
  cell(row, pair.prompt_preview, "preview-cell");
  cell(row, [pair.model_a, pair.model_b].filter(Boolean).join(" vs ") || "—");
  cell(row, kind === "pairwise" ? `${pair.votes.A} · ${pair.votes.B} · ${pair.votes.tie} · ${pair.votes.both_bad}` : "—");
  cell(row, `${pair.judgements} (${pair.wanted} wanted)`);
  cell(row, pair.disagreement.toFixed(2));
  cell(row, pair.open_reports ? String(pair.open_reports) : "—");
  cell(row, pair.final_label ? CHOICE_NAMES[pair.final_label] : "—", "final-label");
  $("pairs").querySelector("tbody").append(row);
}

async function showPair(id) {
  const result = await api("GET", `/api/projects/${projectID}/pairs/${encodeURIComponent(id)}`);
  if (!result.ok) {
    showStatus(errorMessage(result), "error");
    return;
  }
  openPair = id;
  writeAddress();
  const { pair, judgements, reports, final_label: label } = result.data;
  $("detail").hidden = false;
  $("detail").dataset.pair = id;
  delete $("detail").dataset.decided;
  $("detail-title").textContent = `Pair ${pair.id}`;
  const facts = [
    `${pair.judgements} judgement${pair.judgements === 1 ? "" : "s"} (${pair.wanted} wanted)`,
    ...(Array.isArray(pair.responses) ? [] : [`all votes ${votesText(pair.votes)}`, `disagreement ${pair.disagreement.toFixed(2)} bits`]),
  ];
  if (pair.gold) facts.push(`gold answer ${CHOICE_NAMES[pair.gold]}`);
  if (pair.metadata) facts.push(`metadata ${JSON.stringify(pair.metadata)}`);
  $("detail-facts").textContent = facts.join(" · ");
  // What the export writes comes from the whole project: asked apart, so the
  // pair shows at once; rows and the sentence fill in when it answers.
  const pairwise = !Array.isArray(pair.responses);
  $("detail-decision").hidden = !pairwise;
  $("detail-decision").textContent = pairwise ? "Working out what the export writes for this pair…" : "";
  renderPrompt(pair.prompt, $("detail-prompt"));
  $("detail-a-title").textContent = pair.model_a ? `Response A (${pair.model_a})` : "Response A";
  $("detail-b-title").textContent = pair.model_b ? `Response B (${pair.model_b})` : "Response B";
  renderMarkdown(pair.response_a, $("detail-a"));
  renderMarkdown(pair.response_b, $("detail-b"));
  // A ranking or rating task: every response, numbered as judgements refer to them;
  // final labels are for pairs only.
  const task = Array.isArray(pair.responses);
  document.querySelector("#detail .responses").hidden = task;
  $("detail-responses").hidden = !task;
  $("detail-responses").replaceChildren(...(pair.responses ?? []).map((text, index) => {
    const section = document.createElement("section");
    section.className = "card response";
    const title = document.createElement("h3");
    const model = pair.models?.[index];
    title.textContent = `Response ${index + 1}${model ? ` (${model})` : ""}`;
    const body = document.createElement("div");
    body.className = "response-body";
    renderMarkdown(text, body);
    section.append(title, body);
    return section;
  }));
  for (const id of ["label-heading", "label-now", "label-form"]) $(id).hidden = task;
  if (task) $("detail-title").textContent = `Task ${pair.id}`;
  $("label-now").textContent = label
    ? `${CHOICE_NAMES[label.label]}, set by ${label.reviewer ?? "a former user"} (${label.crowd === label.label ? "confirms the crowd" : label.crowd ? `overrules the crowd's ${CHOICE_NAMES[label.crowd]}` : "the crowd had no plurality"})${label.note ? `: “${label.note}”` : ""}`
    : pair.gold ? `None: exports use the gold key (${CHOICE_NAMES[pair.gold]}).` : "None: exports use the crowd's decision.";
  $("label-clear").disabled = !label;
  const body = $("detail-judgements").querySelector("tbody");
  body.replaceChildren();
  for (const judgement of judgements) {
    const row = document.createElement("tr");
    cell(row, judgement.annotator);
    cell(row, judgement.rater_status, `rater-status ${judgement.rater_status}`);
    cell(row, judgement.kind);
    cell(row, judgement.ranking ? rankingText(judgement.ranking) : judgement.ratings ? ratingsText(judgement.ratings) : CHOICE_NAMES[judgement.choice]);
    cell(row, judgement.strength == null ? "—" : String(judgement.strength));
    cell(row, task || judgement.shown_swapped == null ? "—" : judgement.shown_swapped ? "B on the left" : "A on the left");
    cell(row, judgement.duration_ms == null ? "—" : `${(judgement.duration_ms / 1000).toFixed(1)} s`);
    row.dataset.judgement = String(judgement.id);
    cell(row, "—", "counted");
    const rewrite = judgement.rewrite ? `Rewrite of response ${judgement.rewrite.base + 1}: ${judgement.rewrite.text}` : "";
    cell(row, [judgement.rationale ?? "", rewrite].filter(Boolean).join(" — "), "report-reason");
    body.append(row);
  }
  if (judgements.length === 0) {
    const row = document.createElement("tr");
    cell(row, "No judgements yet.").colSpan = 9;
    body.append(row);
  }
  const list = $("detail-reports");
  list.replaceChildren();
  for (const report of reports) {
    const item = document.createElement("li");
    item.className = "report-reason";
    item.textContent = `${report.annotator}${report.resolved ? " (resolved)" : ""}: ${report.reason}`;
    list.append(item);
  }
  if (reports.length === 0) list.textContent = "No reports.";
  $("detail").scrollIntoView({ block: "start" });
  if (pairwise) await showDecision(id, judgements);
}

/** The export's decision for the open pair, and which judgements it counts. */
async function showDecision(id, judgements) {
  const result = await api("GET", `/api/projects/${projectID}/pairs/${encodeURIComponent(id)}/decision`);
  if (openPair !== id) return;  // another pair opened meanwhile
  if (!result.ok) {
    $("detail-decision").textContent = errorMessage(result);
    return;
  }
  const byID = new Map(result.data.judgements.map((entry) => [String(entry.id), entry]));
  for (const judgement of judgements) Object.assign(judgement, byID.get(String(judgement.id)) ?? {});
  for (const row of $("detail-judgements").querySelectorAll("tbody tr[data-judgement]")) {
    const entry = byID.get(row.dataset.judgement);
    if (!entry) continue;
    row.cells[1].textContent = entry.rater_status;
    row.cells[1].className = `rater-status ${entry.rater_status}`;
    row.cells[7].textContent = entry.counted ? "yes" : `no: ${entry.excluded_reason}`;
    row.classList.toggle("excluded", !entry.counted);
  }
  const decision = result.data.export_decision;
  const since = decision.judgements_since > 0
    ? ` As of ${new Date(decision.as_of).toLocaleTimeString()}: ${decision.judgements_since} judgement${decision.judgements_since === 1 ? "" : "s"} came in since, which an export now would count.`
    : "";
  $("detail-decision").textContent = decisionText(decision, judgements) + since;
  $("detail").dataset.decided = id;
}

async function setLabel(label) {
  const id = openPair;
  const result = label
    ? await api("PUT", `/api/projects/${projectID}/pairs/${encodeURIComponent(id)}/label`, { label, note: $("label-note").value })
    : await api("DELETE", `/api/projects/${projectID}/pairs/${encodeURIComponent(id)}/label`);
  if (!result.ok) {
    showStatus(errorMessage(result), "error");
    return;
  }
  showStatus(label ? `Pair ${id}: final label ${CHOICE_NAMES[label]}.` : `Pair ${id}: final label cleared.`);
  $("label-note").value = "";
  for (const row of $("pairs").querySelectorAll("tr[data-pair]")) {
    if (row.dataset.pair === id) row.querySelector(".final-label").textContent = label ? CHOICE_NAMES[label] : "—";
  }
  await showPair(id);
}

for (const button of document.querySelectorAll("[data-label]")) {
  button.addEventListener("click", () => setLabel(button.dataset.label));
}
$("label-clear").addEventListener("click", () => setLabel(null));
$("more").addEventListener("click", () => load(false));
$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  writeAddress();
  load(true);
});

async function start() {
  const user = await me();
  if (user.role === "annotator") {
    for (const section of document.querySelectorAll("main > :not(#status)")) section.hidden = true;
    showStatus("The item browser is for reviewers and admins. Your projects are on the home page.", "error");
    document.body.dataset.ready = "true";
    return;
  }
  const project = await api("GET", `/api/projects/${projectID}`);
  if (project.ok) {
    $("project-name").textContent = project.data.project.name;
    kind = project.data.project.kind ?? "pairwise";
    if (kind !== "pairwise") {
      // Ranking and rating tasks: no A/B votes or sides, no gold.
      $("items-title").textContent = "Tasks";
      for (const th of $("pairs").querySelectorAll("thead th")) {
        if (th.textContent.startsWith("Votes")) th.textContent = "Votes";
        if (th.textContent === "Pair") th.textContent = "Task";
      }
    }
  }
  const pair = readAddress();
  await load(true);
  if (pair) await showPair(pair);
  document.body.dataset.ready = "true";
}

start().catch((error) => showStatus(error.message ?? "Cannot load the pairs.", "error"));
