// The annotator's page: one pair at a time, keyboard first.
//
// Every judgement is sent with the assignment it belongs to; the server is
// idempotent per assignment, so a failed submit is retried with the same body
// until it is stored — never a double, never a loss.

import { api, errorMessage, me, SignedOut } from "./api.js";
import { renderMarkdown } from "./markdown.js";

const projectID = Number(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);

const state = {
  project: null,
  assignment: null,
  choice: null,
  strength: null,
  aspects: {},
  renderedAt: 0,
  sending: false,
  pending: null, // the body being sent, kept for retries
};

// MARK: Loading

async function start() {
  await me();
  const result = await api("GET", `/api/projects/${projectID}`);
  if (!result.ok) {
    showStatus(errorMessage(result), "error");
    return;
  }
  state.project = result.data.project;
  $("project-name").textContent = state.project.name;
  document.title = `${state.project.name} · Arbiter`;
  renderMarkdown(state.project.guidelines || "No guidelines for this project.", $("guidelines-body"));
  configureForm();
  await loadNext();
}

function configureForm() {
  const project = state.project;
  document.querySelector('[data-choice="tie"]').hidden = !project.allow_ties;
  document.querySelector('[data-choice="both_bad"]').hidden = !project.allow_both_bad;
  $("rationale-label").textContent = project.rationale_required ? "Rationale (required)" : "Rationale (optional)";
  $("rationale").required = project.rationale_required;
  const aspects = $("aspects");
  aspects.replaceChildren();
  for (const aspect of project.aspects) {
    const fieldset = document.createElement("fieldset");
    fieldset.className = "aspect";
    const legend = document.createElement("legend");
    legend.textContent = `${aspect}: which is better?`;
    fieldset.append(legend);
    for (const [value, label] of [["left", "Response 1"], ["right", "Response 2"], ["tie", "Same"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "aspect-choice";
      button.dataset.aspect = aspect;
      button.dataset.value = value;
      button.setAttribute("aria-pressed", "false");
      button.textContent = label;
      button.addEventListener("click", () => setAspect(aspect, value));
      fieldset.append(button);
    }
    aspects.append(fieldset);
  }
}

async function loadNext() {
  resetJudgement();
  const result = await api("GET", `/api/projects/${projectID}/next`);
  if (result.status === 204) {
    state.assignment = null;
    $("task").hidden = true;
    $("done").hidden = false;
    refreshProgress();
    return;
  }
  if (!result.ok) {
    showStatus(errorMessage(result), "error");
    return;
  }
  const assignment = result.data.assignment;
  state.assignment = assignment;
  renderPrompt(assignment.prompt);
  renderMarkdown(assignment.left, $("left"));
  renderMarkdown(assignment.right, $("right"));
  $("left").scrollTop = 0;
  $("right").scrollTop = 0;
  $("done").hidden = true;
  $("task").hidden = false;
  state.renderedAt = performance.now();
  refreshProgress();
}

function renderPrompt(prompt) {
  const container = $("prompt");
  container.replaceChildren();
  if (typeof prompt === "string") {
    const text = document.createElement("div");
    text.className = "prompt-text";
    renderMarkdown(prompt, text);
    container.append(text);
    return;
  }
  // A conversation: the last user turn — what the responses answer — and what
  // follows it are always shown; earlier turns fold into a <details>.
  const lastUser = prompt.map((message) => message.role).lastIndexOf("user");
  const split = lastUser > 0 ? lastUser : 0;
  if (split > 0) {
    const earlier = document.createElement("details");
    earlier.className = "earlier";
    const summary = document.createElement("summary");
    summary.textContent = split === 1 ? "1 earlier message" : `${split} earlier messages`;
    earlier.append(summary, conversation(prompt.slice(0, split)));
    container.append(earlier);
  }
  const last = conversation(prompt.slice(split));
  last.classList.add("last-turn");
  container.append(last);
}

// One bubble per message, labelled with its role.
function conversation(messages) {
  const list = document.createElement("ol");
  list.className = "conversation";
  for (const message of messages) {
    const item = document.createElement("li");
    item.className = `message role-${message.role === "assistant" ? "assistant" : message.role === "system" ? "system" : "user"}`;
    const role = document.createElement("span");
    role.className = "role";
    role.textContent = message.role;
    const body = document.createElement("div");
    renderMarkdown(message.content, body);
    item.append(role, body);
    list.append(item);
  }
  return list;
}

async function refreshProgress() {
  try {
    const result = await api("GET", `/api/projects/${projectID}/progress`);
    const p = result.data?.progress;
    if (p) $("progress").textContent = `Done today: ${p.done_today} · left: ${p.left}`;
  } catch (error) {
    if (!(error instanceof SignedOut)) $("progress").textContent = "";
  }
}

// MARK: The judgement

function resetJudgement() {
  state.choice = null;
  state.strength = null;
  state.aspects = {};
  state.pending = null;
  state.sending = false;
  $("rationale").value = "";
  $("strength").hidden = true;
  for (const button of document.querySelectorAll("[aria-pressed]")) button.setAttribute("aria-pressed", "false");
  setBusy(false);
  hideStatus();
}

function choose(choice) {
  if (!state.assignment || state.sending) return;
  const button = document.querySelector(`[data-choice="${choice}"]`);
  if (!button || button.hidden) return;
  state.choice = choice;
  for (const other of document.querySelectorAll(".choice")) other.setAttribute("aria-pressed", String(other === button));
  const decisive = choice === "left" || choice === "right";
  $("strength").hidden = !(decisive && state.project.strength_enabled);
  if (!decisive) setStrength(null);
  hideStatus();
}

function setStrength(strength) {
  if (strength !== null && (!state.project.strength_enabled || !(state.choice === "left" || state.choice === "right"))) return;
  state.strength = strength;
  for (const button of document.querySelectorAll(".strength-choice")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.strength) === strength));
  }
}

function setAspect(aspect, value) {
  state.aspects[aspect] = value;
  for (const button of document.querySelectorAll(`.aspect-choice[data-aspect="${CSS.escape(aspect)}"]`)) {
    button.setAttribute("aria-pressed", String(button.dataset.value === value));
  }
}

async function submit() {
  if (!state.assignment || state.sending) return;
  if (!state.pending) {
    if (!state.choice) {
      showStatus("Choose a response first: 1, 2" + (state.project.allow_ties ? ", 3" : "") + (state.project.allow_both_bad ? " or 4" : "") + ".", "error");
      return;
    }
    const rationale = $("rationale").value.trim();
    if (state.project.rationale_required && !rationale) {
      showStatus("This project asks for a rationale.", "error");
      $("rationale").focus();
      return;
    }
    const body = { choice: state.choice, duration_ms: Math.round(performance.now() - state.renderedAt) };
    if (state.strength && (state.choice === "left" || state.choice === "right")) body.strength = state.strength;
    if (Object.keys(state.aspects).length > 0) body.aspects = { ...state.aspects };
    if (rationale) body.rationale = rationale;
    state.pending = body;
  }
  state.sending = true;
  setBusy(true);
  const assignmentID = state.assignment.id;
  for (let attempt = 0; ; attempt += 1) {
    let result = null;
    try {
      result = await api("POST", `/api/assignments/${assignmentID}/annotation`, state.pending);
    } catch (error) {
      if (error instanceof SignedOut) return; // on the way to sign-in; the judgement is lost with the page
      result = null; // network failure: retry below
    }
    if (result && (result.status === 200 || result.status === 201)) {
      await loadNext();
      showStatus("Saved.", "ok", 1500);
      return;
    }
    if (result && result.status === 409) {
      await loadNext();
      showStatus("The time for that pair ran out, so it went back to the pool. Here is the next one.", "error");
      return;
    }
    if (result && result.status >= 400 && result.status < 500) {
      state.pending = null;
      state.sending = false;
      setBusy(false);
      showStatus(errorMessage(result), "error");
      return;
    }
    // Network error or 5xx: keep the judgement and try again with the same assignment.
    const wait = Math.min(8000, 500 * 2 ** attempt);
    showStatus(`Could not save yet; retrying in ${Math.round(wait / 1000) || 1} s. Your judgement is kept.`, "error");
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (state.assignment?.id !== assignmentID) return;
  }
}

async function skip() {
  if (!state.assignment || state.sending) return;
  setBusy(true);
  await api("POST", `/api/assignments/${state.assignment.id}/skip`);
  await loadNext();
  showStatus("Skipped.", "ok", 1500);
}

function setBusy(busy) {
  for (const button of document.querySelectorAll("#judgement button")) button.disabled = busy;
  $("judgement").setAttribute("aria-busy", String(busy));
}

// MARK: Messages and dialogs

// While a pair is on screen, messages appear next to the action buttons (where
// the annotator's eyes are); otherwise at the top of the page. Both are live
// regions, so screen readers announce them.
let statusTimer = null;
function showStatus(message, kind, hideAfter) {
  hideStatus();
  const status = $("task").hidden ? $("status") : $("action-status");
  status.textContent = message;
  status.className = `status ${kind}`;
  status.hidden = false;
  status.scrollIntoView({ block: "nearest" });
  clearTimeout(statusTimer);
  if (hideAfter) statusTimer = setTimeout(hideStatus, hideAfter);
}

function hideStatus() {
  $("status").hidden = true;
  $("action-status").hidden = true;
}

function openDialog(id) {
  const dialog = $(id);
  if (!dialog.open) dialog.showModal();
}

$("open-guidelines").addEventListener("click", () => openDialog("guidelines"));
$("open-help").addEventListener("click", () => openDialog("help"));
$("report").addEventListener("click", () => {
  $("report-reason").value = "";
  openDialog("report-dialog");
});
$("report-dialog").addEventListener("close", async () => {
  if ($("report-dialog").returnValue !== "send" || !state.assignment) return;
  const reason = $("report-reason").value.trim();
  if (!reason) return;
  const result = await api("POST", `/api/assignments/${state.assignment.id}/report`, { reason });
  showStatus(result.ok ? "Thanks, the problem was reported." : errorMessage(result), result.ok ? "ok" : "error", 3000);
});

for (const button of document.querySelectorAll(".choice")) button.addEventListener("click", () => choose(button.dataset.choice));
for (const button of document.querySelectorAll(".strength-choice")) {
  button.addEventListener("click", () => setStrength(Number(button.dataset.strength)));
}
$("judgement").addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});
$("skip").addEventListener("click", () => skip());

// MARK: Keyboard

const keys = {
  1: () => choose("left"),
  2: () => choose("right"),
  3: () => choose("tie"),
  4: () => choose("both_bad"),
  q: () => setStrength(1),
  w: () => setStrength(2),
  e: () => setStrength(3),
  s: () => skip(),
  g: () => openDialog("guidelines"),
  "?": () => openDialog("help"),
  Enter: () => submit(),
};

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.metaKey || (event.ctrlKey && event.key !== "Enter")) return;
  if (document.querySelector("dialog[open]")) return; // Esc closes dialogs natively
  const target = event.target;
  const typing = target instanceof HTMLTextAreaElement || (target instanceof HTMLInputElement && target.type !== "button");
  if (typing) {
    if (event.key === "Enter" && event.ctrlKey) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape") {
      target.blur();
    }
    return;
  }
  // A focused button does its own action: Enter "clicks" it natively.
  if (event.key === "Enter" && target instanceof HTMLButtonElement) return;
  const action = keys[event.key];
  if (!action) return;
  event.preventDefault();
  action();
});

start().catch((error) => {
  if (!(error instanceof SignedOut)) showStatus("Cannot reach the server. Reload to try again.", "error");
});
