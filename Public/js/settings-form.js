// The project settings form, shared by "new project" and a project's settings:
// every field of the API, with a live Markdown preview of the guidelines.
import { renderMarkdown } from "./markdown.js";
import { arenaSettings } from "./arena-settings.js";

const FIELDS = [
  { key: "overlap", label: "Judgements per pair (overlap; adaptive: at most)", type: "number", min: 1, max: 100, step: 1 },
  // Adaptive overlap: left empty, the field is off (null).
  { key: "min_overlap", label: "Adaptive: at least (empty: fixed)", type: "number", min: 1, max: 100, step: 1, optional: true },
  { key: "stop_agree", label: "Adaptive: stop at a lead of", type: "number", min: 1, max: 100, step: 1, optional: true },
  { key: "stop_posterior", label: "Adaptive: stop at posterior ≥ (empty: chosen for this crowd)", type: "number", min: 0.51, max: 0.999, step: 0.01, optional: true },
  { key: "lease_ttl_seconds", label: "Lease time (seconds)", type: "number", min: 1, max: 86400, step: 1 },
  { key: "gold_rate", label: "Gold rate (0–1)", type: "number", min: 0, max: 1, step: 0.01, pairwiseOnly: true },
  { key: "repeat_rate", label: "Repeat rate (0–1)", type: "number", min: 0, max: 1, step: 0.01 },
  { key: "repeat_after_judgements", label: "Repeats: at least this many judgements later", type: "number", min: 0, max: 100000, step: 1 },
  { key: "repeat_after_minutes", label: "Repeats: at least this many minutes later", type: "number", min: 0, max: 10080, step: 1 },
  { key: "max_per_annotator", label: "Most judgements per annotator (0: no cap)", type: "number", min: 0, max: 10000000, step: 1 },
  { key: "active_random_share", label: "Active selection: random share (0–1)", type: "number", min: 0, max: 1, step: 0.05 },
  { key: "active_retrain_every", label: "Active selection: retrain every (judgements)", type: "number", min: 10, max: 1000000, step: 1 },
];
// Ties, both bad, strength and aspects belong to a choice between two responses.
const FLAGS = [
  { key: "allow_ties", label: "Ties allowed", pairwiseOnly: true },
  { key: "allow_both_bad", label: "“Both bad” allowed", pairwiseOnly: true },
  { key: "strength_enabled", label: "Ask for strength", pairwiseOnly: true },
  { key: "strength_required", label: "Strength required", pairwiseOnly: true },
  { key: "aspects_required", label: "Every aspect required", pairwiseOnly: true },
  { key: "rationale_required", label: "Rationale required" },
  { key: "active_selection", label: "Active selection (least-certain pairs first)" },
];
const DEFAULTS = {
  name: "", guidelines: "", overlap: 3, lease_ttl_seconds: 600, gold_rate: 0, repeat_rate: 0, aspects: [],
  repeat_after_judgements: 20, repeat_after_minutes: 30,
  allow_ties: true, allow_both_bad: true, strength_enabled: true, strength_required: false, aspects_required: false,
  rationale_required: false, max_per_annotator: 0,
  min_overlap: null, stop_agree: null, stop_posterior: null,
  active_selection: false, active_random_share: 0.2, active_retrain_every: 500,
  kind: "pairwise", attributes: [], scale_min: 0, scale_max: 4, scale_labels: [], rewrite: false,
};

const KINDS = [
  ["pairwise", "Pairwise: which of two responses is better"],
  ["ranking", "Ranking: order 2–9 responses, best first"],
  ["rating", "Rating: score each response on attributes"],
];

// A sketch of the annotate page for the chosen kind, or of the arena (texts are placeholders).
function renderLayoutPreview(box, task, arena) {
  box.replaceChildren();
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  if (arena) {
    box.append(el("div", "card preview-prompt", "Your prompt (typed by the annotator)"));
    const pair = el("div", "preview-pair");
    for (const side of ["Model A (hidden)", "Model B (hidden)"]) {
      const card = el("div", "card preview-card");
      card.append(el("strong", "", side), el("div", "muted", "streams its answer…"));
      pair.append(card);
    }
    box.append(pair, el("div", "card preview-questions", "1 A is better · 2 B is better · 3 tie · 4 both bad · then the models are named"));
    return;
  }
  box.append(el("div", "card preview-prompt", "Prompt"));
  const count = task.kind === "pairwise" ? 2 : 4;
  const row = el("div", "preview-row");
  const grid = el("div", task.kind === "pairwise" ? "preview-pair" : "preview-grid");
  for (let i = 1; i <= count; i += 1) {
    const card = el("div", "card preview-card");
    card.append(el("strong", "", `Response ${i}`), el("div", "muted", "…"));
    if (task.kind === "rating") {
      for (const attribute of task.attributes.length ? task.attributes : ["(attributes)"]) {
        const line = el("div", "preview-scores", `${attribute}: `);
        for (let score = task.scale_min; score <= Math.min(task.scale_max, task.scale_min + 10); score += 1) {
          line.append(el("span", "preview-score", String(score)));
        }
        card.append(line);
      }
    }
    grid.append(card);
  }
  row.append(grid);
  if (task.kind === "ranking") {
    const panel = el("div", "card preview-order");
    panel.append(el("strong", "", "Your order"), el("div", "muted", "1. Response 3"), el("div", "muted", "2. Response 1"), el("div", "muted", "…"));
    row.append(panel);
  }
  box.append(row);
  const questions = task.kind === "pairwise" ? "1 · 2 · 3 tie · 4 both bad"
    : task.kind === "ranking" ? "Numbers best first · = ties · drag to reorder" : "A digit scores the outlined row";
  box.append(el("div", "card preview-questions", questions + (task.rewrite ? " · rewrite box (r)" : "")));
}

function field(form, id, labelText, input) {
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = labelText;
  input.id = id;
  form.append(label, input);
  return input;
}

/**
 * Fills `form` with the settings fields; `onSubmit(values)` receives the API body
 * and returns a promise of an error message (or null).
 */
export function buildSettingsForm(form, initial, submitLabel, onSubmit) {
  const values = { ...DEFAULTS, ...initial };
  form.replaceChildren();
  const prefix = form.id;
  const name = field(form, `${prefix}-name`, "Name", document.createElement("input"));
  name.required = true;
  name.maxLength = 200;
  name.value = values.name;

  // The task kind, its attributes and scale, with a live sketch of the page.
  const taskSet = document.createElement("fieldset");
  taskSet.className = "flags task-kind";
  const taskLegend = document.createElement("legend");
  taskLegend.textContent = "Task";
  taskSet.append(taskLegend);
  form.append(taskSet);
  const kind = field(taskSet, `${prefix}-kind`, "Kind", document.createElement("select"));
  for (const [value, label] of KINDS) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    kind.append(option);
  }
  kind.value = values.kind;
  const attributes = field(taskSet, `${prefix}-attributes`, "Attributes (comma-separated; rating)", document.createElement("input"));
  attributes.value = values.attributes.join(", ");
  attributes.placeholder = "helpfulness, correctness, coherence, complexity, verbosity";
  // The scale's two ends side by side, sized for a number.
  const scaleRow = document.createElement("div");
  scaleRow.className = "scale-row";
  const scaleCells = [document.createElement("div"), document.createElement("div")];
  scaleRow.append(...scaleCells);
  taskSet.append(scaleRow);
  const scaleMin = field(scaleCells[0], `${prefix}-scale_min`, "Scale from", document.createElement("input"));
  const scaleMax = field(scaleCells[1], `${prefix}-scale_max`, "Scale to", document.createElement("input"));
  for (const [input, value] of [[scaleMin, values.scale_min], [scaleMax, values.scale_max]]) {
    Object.assign(input, { type: "number", min: -100, max: 100, step: 1, value });
  }
  const scaleLabels = field(taskSet, `${prefix}-scale_labels`, "Scale labels (comma-separated, one per point; optional)", document.createElement("input"));
  scaleLabels.value = values.scale_labels.join(", ");
  const rewriteLabel = document.createElement("label");
  rewriteLabel.className = "check block";
  const rewrite = document.createElement("input");
  rewrite.type = "checkbox";
  rewrite.id = `${prefix}-rewrite`;
  rewrite.checked = Boolean(values.rewrite);
  rewriteLabel.append(rewrite, document.createTextNode(" Ask for a rewrite of the best response (optional for annotators)"));
  taskSet.append(rewriteLabel);
  const layoutTitle = document.createElement("p");
  layoutTitle.className = "muted";
  layoutTitle.textContent = "What annotators will see";
  const layout = document.createElement("div");
  layout.className = "layout-preview";
  layout.id = `${prefix}-layout-preview`;
  taskSet.append(layoutTitle, layout);
  const splitList = (text) => text.split(",").map((part) => part.trim()).filter((part) => part.length > 0);
  const taskValues = () => ({
    kind: kind.value,
    attributes: kind.value === "rating" ? splitList(attributes.value) : [],
    scale_min: Number(scaleMin.value),
    scale_max: Number(scaleMax.value),
    scale_labels: kind.value === "rating" ? splitList(scaleLabels.value) : [],
    rewrite: rewrite.checked,
  });
  // Settings that mean nothing for the chosen kind are hidden (and sent unchanged).
  const pairwiseOnly = [];
  let arena = null;
  const refreshLayout = () => {
    const rating = kind.value === "rating";
    for (const input of [attributes, scaleMin, scaleMax, scaleLabels]) {
      input.disabled = !rating;
      input.previousElementSibling.hidden = !rating;
      input.hidden = !rating;
    }
    scaleRow.hidden = !rating;
    for (const node of pairwiseOnly) node.hidden = kind.value !== "pairwise";
    renderLayoutPreview(layout, taskValues(), arena?.value() != null);
  };
  for (const input of [kind, attributes, scaleMin, scaleMax, scaleLabels, rewrite]) {
    input.addEventListener("input", refreshLayout);
    input.addEventListener("change", refreshLayout);
  }
  arena = arenaSettings(form, prefix, values.arena ?? null);
  arena.setKind(kind.value);
  kind.addEventListener("change", () => arena.setKind(kind.value));
  form.querySelector(`#${prefix}-arena`)?.addEventListener("change", refreshLayout);

  const grid = document.createElement("div");
  grid.className = "form-grid";
  form.append(grid);
  const numbers = {};
  for (const spec of FIELDS) {
    const cell = document.createElement("div");
    const input = document.createElement("input");
    Object.assign(input, { type: spec.type, min: spec.min, max: spec.max, step: spec.step, value: values[spec.key] ?? "" });
    input.dataset.optional = spec.optional ? "true" : "";
    field(cell, `${prefix}-${spec.key}`, spec.label, input);
    numbers[spec.key] = input;
    if (spec.pairwiseOnly) pairwiseOnly.push(cell);
    grid.append(cell);
  }
  const aspectsCell = document.createElement("div");
  form.append(aspectsCell);
  pairwiseOnly.push(aspectsCell);
  const aspects = field(aspectsCell, `${prefix}-aspects`, "Aspects (comma-separated, optional)", document.createElement("input"));
  aspects.value = values.aspects.join(", ");

  const flags = document.createElement("fieldset");
  flags.className = "flags";
  const legend = document.createElement("legend");
  legend.textContent = "Judging";
  flags.append(legend);
  const checks = {};
  for (const spec of FLAGS) {
    const label = document.createElement("label");
    label.className = "check";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `${prefix}-${spec.key}`;
    box.checked = Boolean(values[spec.key]);
    label.append(box, document.createTextNode(" " + spec.label));
    flags.append(label);
    checks[spec.key] = box;
    if (spec.pairwiseOnly) pairwiseOnly.push(label);
  }
  form.append(flags);
  refreshLayout();

  const guidelines = field(form, `${prefix}-guidelines`, "Guidelines (Markdown)", document.createElement("textarea"));
  guidelines.rows = 8;
  guidelines.value = values.guidelines;
  const previewTitle = document.createElement("p");
  previewTitle.className = "muted";
  previewTitle.textContent = "Preview";
  const preview = document.createElement("div");
  preview.className = "markdown preview";
  preview.id = `${prefix}-preview`;
  form.append(previewTitle, preview);
  const refresh = () => renderMarkdown(guidelines.value, preview);
  guidelines.addEventListener("input", refresh);
  refresh();

  const message = document.createElement("p");
  message.className = "error";
  message.setAttribute("role", "alert");
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "primary";
  button.textContent = submitLabel;
  form.append(message, button);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: name.value.trim(),
      guidelines: guidelines.value,
      aspects: aspects.value.split(",").map((part) => part.trim()).filter((part) => part.length > 0),
    };
    for (const [key, input] of Object.entries(numbers)) {
      body[key] = input.dataset.optional && input.value.trim() === "" ? null : Number(input.value);
    }
    for (const [key, box] of Object.entries(checks)) body[key] = box.checked;
    Object.assign(body, taskValues());
    body.arena = arena.value();
    button.disabled = true;
    message.textContent = "";
    try {
      message.textContent = (await onSubmit(body)) ?? "";
    } finally {
      button.disabled = false;
    }
  });
}
