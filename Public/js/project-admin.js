// /admin/projects/{id}: dashboard (counts, SVG charts, agreement), upload with
// format detection and progress, export jobs (project-export.js), reports
// (reports.js) and the project's settings. Untrusted text only via textContent.
import { api, csrf, errorMessage, me, signOut } from "./api.js";
import { element, itemWord, number } from "./dom.js";
import { setUpExports } from "./project-export.js";
import { loadReports } from "./reports.js";
import { buildSettingsForm } from "./settings-form.js";
import { setUpGenerate } from "./generate-panel.js";
import { setUpStudies } from "./project-studies.js";

document.getElementById("sign-out").addEventListener("click", () => signOut());

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const projectID = Number(location.pathname.split("/")[3]);
const base = `/api/projects/${projectID}`;
let kind = "pairwise"; // the project's kind: its items are pairs or tasks

function status(text, ok = false) {
  const box = $("status");
  box.textContent = text;
  box.className = ok ? "status ok" : "status error";
  box.hidden = !text;
}

const exports = setUpExports(projectID, status);

// MARK: Dashboard

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Vertical bars, one per day; a <title> per bar says the day and count. */
function dayChart(container, rows, since) {
  const counts = new Map(rows.map((row) => [row.day, row.judgements]));
  const days = [];
  const start = new Date(since + "T00:00:00Z");
  for (let i = 0; i < 30; i += 1) {
    const day = new Date(start.getTime() + i * 86400000).toISOString().slice(0, 10);
    days.push({ day, count: counts.get(day) ?? 0 });
  }
  const max = Math.max(1, ...days.map((d) => d.count));
  const width = 600;
  const height = 160;
  const bar = width / days.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 20}`, role: "img", class: "chart", "aria-label": "Judgements per day" });
  days.forEach((d, i) => {
    const h = Math.round((d.count / max) * height);
    const rect = svg("rect", { x: i * bar + 1, y: height - h, width: bar - 2, height: h, class: "bar" });
    rect.append(svg("title", {}, `${d.day}: ${number(d.count)} judgements`));
    chart.append(rect);
  });
  chart.append(svg("text", { x: 0, y: height + 15, class: "axis" }, days[0].day));
  chart.append(svg("text", { x: width, y: height + 15, class: "axis", "text-anchor": "end" }, days[days.length - 1].day));
  chart.append(svg("text", { x: 2, y: 12, class: "axis" }, `max ${number(max)}`));
  container.replaceChildren(chart);
}

/** Horizontal bars, one per annotator (the top 20). */
function annotatorChart(container, rows) {
  const top = rows.slice(0, 20);
  if (top.length === 0) {
    container.replaceChildren(element("p", "No judgements yet.", "muted"));
    return;
  }
  const max = Math.max(1, ...top.map((row) => row.judgements));
  const row = 22;
  const width = 600;
  const labelWidth = 160;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${top.length * row}`, role: "img", class: "chart", "aria-label": "Judgements per annotator" });
  top.forEach((entry, i) => {
    const w = Math.max(1, Math.round(((entry.judgements / max) * (width - labelWidth - 60))));
    chart.append(svg("text", { x: labelWidth - 6, y: i * row + 15, class: "axis", "text-anchor": "end" }, entry.annotator.slice(0, 24)));
    const rect = svg("rect", { x: labelWidth, y: i * row + 3, width: w, height: row - 6, class: "bar" });
    rect.append(svg("title", {}, `${entry.annotator}: ${number(entry.judgements)}`));
    chart.append(rect);
    chart.append(svg("text", { x: labelWidth + w + 6, y: i * row + 15, class: "axis" }, number(entry.judgements)));
  });
  container.replaceChildren(chart);
}

/** One sentence on how judgements are collected (overlap rule, pair selection). */
function describeCollection(collection) {
  if (!collection) return "";
  const overlap = collection.overlap;
  const rules = [];
  if (overlap.stop_agree != null) rules.push(`a lead of ${overlap.stop_agree}`);
  if (overlap.stop_posterior === "automatic") {
    const chosen = collection.stop_threshold;
    rules.push(chosen?.estimated === false || chosen?.expected_error == null
      ? `a weighted posterior of ${chosen?.threshold ?? 0.96} until this crowd is estimated`
      : `a weighted posterior of ${chosen.threshold} chosen for this crowd (predicted label error ${(chosen.expected_error * 100).toFixed(1)}%, `
        + `fixed overlap 3: ${(chosen.fixed_three_error * 100).toFixed(1)}%; ${chosen.expected_judgements.toFixed(1)} judgements per ${itemWord(kind, 1)})`);
  } else if (overlap.stop_posterior != null) {
    rules.push(`a weighted posterior of ${overlap.stop_posterior}`);
  }
  let text = overlap.policy === "adaptive"
    ? `Adaptive overlap: ${overlap.min}–${overlap.max} judgements per ${itemWord(kind, 1)}, stopping at ${rules.join(" or ")}.`
    : `Fixed overlap: ${overlap.max} judgement${overlap.max === 1 ? "" : "s"} per ${itemWord(kind, 1)}.`;
  const selection = collection.selection;
  if (selection.policy === "active") {
    const model = collection.selection_model;
    text += ` Active selection: least-certain pairs first, ${Math.round(selection.random_share * 100)}% at random; `
      + (model ? `model retrained ${model.retrains} time${model.retrains === 1 ? "" : "s"}, last on ${number(model.trained_pairs)} labelled pairs.`
        : `the first model trains after ${number(selection.retrain_every)} judgements.`);
  }
  return text;
}

async function loadDashboard() {
  const result = await api("GET", `${base}/dashboard`);
  if (!result.ok) return status(errorMessage(result));
  const data = result.data;
  const counts = $("counts");
  counts.replaceChildren();
  // Every pair, as on /admin; complete + in progress + untouched + gold add up to it.
  const entries = [
    [kind === "pairwise" ? "Pairs" : "Tasks", data.pairs.total + data.pairs.gold], ["Complete", data.pairs.complete],
    ["In progress", data.pairs.in_progress], ["Untouched", data.pairs.untouched],
    ...(kind === "pairwise" ? [["Gold pairs", data.pairs.gold]] : []), ["Live leases", data.live_leases],
  ];
  for (const [label, value] of entries) {
    const group = element("div", undefined, "count");
    group.append(element("dt", label), element("dd", number(value)));
    group.dataset.name = (label === "Tasks" ? "pairs" : label.toLowerCase()).replace(/ /g, "-");
    counts.append(group);
  }
  $("collection-policy").textContent = describeCollection(data.collection);
  dayChart($("per-day-chart"), data.judgements_per_day, data.since);
  annotatorChart($("per-annotator-chart"), data.judgements_per_annotator);
  const alpha = data.agreement.krippendorff_alpha;
  const glance = $("agreement-glance");
  glance.replaceChildren(
    document.createTextNode(alpha === null || alpha === undefined
      ? "Agreement: not enough overlapping judgements yet. "
      : `Agreement: Krippendorff's α (nominal) ${alpha.toFixed(3)}${data.agreement.fleiss_kappa == null ? "" : `, Fleiss' κ ${data.agreement.fleiss_kappa.toFixed(3)}`}. `),
  );
  const more = element("a", "Open the review page");
  more.href = `/projects/${projectID}/review`;
  glance.append(more);
}

// MARK: Upload

/** What the first line of a file looks like. */
export function detectFormat(line) {
  let value;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: null, label: "Line 1 is not JSON." };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { kind: null, label: "Line 1 is not a JSON object." };
  if ("pair" in value && "choice" in value) return { kind: "annotations", label: "Annotations (pair, annotator, choice)" };
  if ("response_a" in value) return { kind: "pairs", label: "Pairs (prompt, response_a, response_b)" };
  if ("responses" in value) return { kind: "pairs", label: "Multi-response (prompt, responses)" };
  if ("chosen" in value && "rejected" in value) {
    if (typeof value.chosen === "string" && value.chosen.includes("\n\nHuman:")) return { kind: "pairs", label: "HH-RLHF transcripts (chosen, rejected)" };
    return { kind: "pairs", label: "TRL preferences (prompt, chosen, rejected)" };
  }
  return { kind: null, label: "Unknown format: expected pairs or annotations." };
}

let file = null;

async function chooseFile(chosen) {
  file = chosen;
  $("upload-result").replaceChildren();
  if (!file) {
    $("upload").disabled = true;
    return;
  }
  const head = await file.slice(0, 1 << 20).text();
  const first = head.split("\n").find((line) => line.trim().length > 0) ?? "";
  const detected = detectFormat(first);
  let lines = "";
  if (file.size <= 64 * 1024 * 1024) {
    const text = await file.text();
    lines = `, ${number(text.split("\n").filter((line) => line.trim().length > 0).length)} lines`;
  }
  $("detected").textContent = `${file.name}: ${detected.label} — ${number(file.size)} bytes${lines}`;
  if (detected.kind) document.querySelector(`input[name=kind][value=${detected.kind}]`).checked = true;
  $("upload").disabled = false;
}

function showReport(report, refused, dryRun) {
  const box = $("upload-result");
  box.replaceChildren();
  let summary;
  if (refused) summary = `Nothing imported: ${number(report.error_count)} invalid line${report.error_count === 1 ? "" : "s"}. Fix them and upload again.`;
  else if (dryRun) summary = `Valid: ${number(report.imported)} would be imported, ${number(report.duplicates)} duplicates, ${number(report.error_count)} invalid. Nothing was written.`;
  else summary = `Imported ${number(report.imported)}, ${number(report.duplicates)} duplicates, ${number(report.error_count)} invalid lines skipped.`;
  box.append(element("p", summary, refused || report.error_count > 0 ? "status error" : "status ok"));
  if (report.errors.length > 0) {
    const list = element("ol", undefined, "errors");
    list.id = "upload-errors";
    for (const error of report.errors) list.append(element("li", error));
    box.append(list);
    if (report.error_count > report.errors.length) box.append(element("p", `… and ${number(report.error_count - report.errors.length)} more.`, "muted"));
  }
}

async function upload() {
  if (!file) return;
  const kind = document.querySelector("input[name=kind]:checked").value;
  const dryRun = $("dry-run").checked;
  const query = new URLSearchParams();
  if (dryRun) query.set("dry_run", "true");
  if ($("skip-invalid").checked) query.set("skip_invalid", "true");
  const token = await csrf();
  $("upload").disabled = true;
  $("upload-progress-box").hidden = false;
  $("upload-phase").textContent = "Uploading…";
  const bar = $("upload-progress");
  bar.value = 0;
  const request = new XMLHttpRequest();
  request.open("POST", `${base}/${kind}?${query}`);
  request.setRequestHeader("Content-Type", "application/x-ndjson");
  request.setRequestHeader("X-CSRF-Token", token);
  request.setRequestHeader("Accept", "application/json");
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
  });
  request.upload.addEventListener("load", () => {
    $("upload-phase").textContent = dryRun ? "Validating…" : "Importing…";
    bar.removeAttribute("value");
  });
  const done = new Promise((resolve) => {
    request.addEventListener("loadend", resolve);
  });
  request.send(file);
  await done;
  $("upload-progress-box").hidden = true;
  $("upload").disabled = false;
  let data = null;
  try {
    data = JSON.parse(request.responseText);
  } catch {
    data = null;
  }
  if (request.status === 200) {
    showReport(data, false, dryRun);
    if (!dryRun) await loadDashboard();
  } else if (request.status === 422 && data?.report) {
    showReport(data.report, true, dryRun);
  } else {
    $("upload-result").replaceChildren(element("p", data?.error?.message ?? `Upload failed (HTTP ${request.status}).`, "status error"));
  }
}

const zone = $("drop-zone");
zone.addEventListener("dragover", (event) => {
  event.preventDefault();
  zone.classList.add("dragging");
});
zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("dragging");
  chooseFile(event.dataTransfer?.files?.[0] ?? null);
});
$("upload-file").addEventListener("change", () => chooseFile($("upload-file").files[0] ?? null));
$("upload").addEventListener("click", () => upload());

// MARK: Settings and start

// MARK: Annotators (project membership)

function showMembers(data) {
  $("members-input").value = data.members.join(", ");
  $("members-state").textContent = data.open_to_everyone
    ? "Open to every annotator."
    : `Only ${data.members.length === 1 ? "1 annotator" : `${data.members.length} annotators`}: ${data.members.join(", ")}.`;
}

async function loadMembers() {
  const answer = await api("GET", `${base}/members`);
  if (answer.ok) showMembers(answer.data);
}

$("members-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const usernames = $("members-input").value.split(",").map((name) => name.trim()).filter((name) => name.length > 0);
  const saved = await api("PUT", `${base}/members`, { usernames });
  if (!saved.ok) return status(errorMessage(saved));
  showMembers(saved.data);
  status("Annotators saved.", true);
});

async function start() {
  const user = await me();
  if (user.role !== "admin") {
    status("This page is for admins.");
    document.querySelectorAll("main > section").forEach((section) => { section.hidden = true; });
    document.body.dataset.ready = "true";
    return;
  }
  const answer = await api("GET", base);
  if (!answer.ok) return status(errorMessage(answer));
  const project = answer.data.project;
  kind = project.kind ?? "pairwise";
  $("project-name").textContent = project.name;
  document.title = `${project.name} · Arbiter`;
  $("review-link").href = `/projects/${projectID}/review`;
  $("annotate-link").href = project.arena ? `/projects/${projectID}/arena` : `/projects/${projectID}/annotate`;
  if (project.arena) $("annotate-link").textContent = "Arena";
  setUpGenerate(projectID, loadDashboard);
  buildSettingsForm($("settings-form"), project, "Save settings", async (body) => {
    const saved = await api("PATCH", base, body);
    if (!saved.ok) return errorMessage(saved);
    $("project-name").textContent = saved.data.project.name;
    status("Settings saved.", true);
    await loadDashboard();  // the collection policy and counts follow the new settings
    return null;
  });
  await exports.loadFormats();
  await Promise.all([loadDashboard(), exports.poll(), loadReports(projectID, $("reports"), status), loadMembers(), setUpStudies(projectID, status)]);
  document.body.dataset.ready = "true";
}

start().catch(() => {});
