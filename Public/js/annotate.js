// The annotator's page: one pair at a time, keyboard first.
//
// Every judgement is sent with the assignment it belongs to; the server is
// idempotent per assignment, so a failed submit is retried with the same body
// until it is stored — never a double, never a loss.

import { api, currentStudy, errorMessage, me, SignedOut } from "./api.js";
import { renderMarkdown } from "./markdown.js";
import { renderDiff, wordDiff } from "./diff.js";
import { renderPrompt } from "./prompt-view.js";
import { Questions } from "./questions.js";
import { TaskView } from "./task-view.js";
import { RewriteBox } from "./rewrite-box.js";

const projectID = Number(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);

const state = {
  project: null,
  questions: null,
  assignment: null,
  renderedAt: 0,
  sending: false,
  pending: null, // the body being sent, kept for retries
  last: null, // { assignment, body }: the judgement that may still be changed
  held: null, // { assignment, renderedAt }: the pair set aside while changing the last one
  diff: false, // the responses shown as a word diff instead of formatted text
  rewrite: null, // the rewrite box (RewriteBox)
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
  $("rationale-label").textContent = state.project.rationale_required ? "Rationale (required)" : "Rationale (optional)";
  $("rationale").required = state.project.rationale_required;
  if (state.project.kind === "ranking" || state.project.kind === "rating") {
    // K responses: a grid of cards (and the order panel when ranking) instead of
    // the two columns and the pair's questions.
    state.questions = new TaskView(state.project, $("task-grid"), $("order-panel"), hideStatus);
    document.body.dataset.kind = state.project.kind;
    $("task-layout").hidden = false;
    $("order-panel").hidden = state.project.kind !== "ranking";
    document.querySelector(".responses").hidden = true;
    $("diff-toggle").hidden = true;
    for (const id of ["strength", "aspects"]) $(id).hidden = true;
    document.querySelector(".choices").hidden = true;
    $("report").textContent = "Report a problem with this task";
    $("report-title").textContent = "Report a problem with this task";
  } else {
    state.questions = new Questions($("judgement"), state.project, hideStatus);
    for (const node of document.querySelectorAll(".task-only")) node.hidden = true;
  }
  state.rewrite = new RewriteBox(state.project.rewrite);
  await loadNext();
  document.body.dataset.ready = "true";
}

async function loadNext() {
  resetJudgement();
  const result = await api("GET", `/api/projects/${projectID}/next`);
  if (result.status === 204) {
    // A study participant who is done (or out) goes to the study's last page.
    if (currentStudy()) {
      location.assign(`/s/${currentStudy().token}/done`);
      return;
    }
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
  show(result.data.assignment);
  refreshProgress();
}

function show(assignment) {
  state.assignment = assignment;
  renderPrompt(assignment.prompt, $("prompt"));
  if (assignment.responses) {
    state.questions.show(assignment);
  } else {
    renderResponses();
    $("left").scrollTop = 0;
    $("right").scrollTop = 0;
  }
  state.rewrite.show(assignment.responses ?? [assignment.left, assignment.right]);
  $("done").hidden = true;
  $("task").hidden = false;
  state.renderedAt = performance.now();
  refreshUndo();
}

// Formatted text, or (with the toggle) the words that differ highlighted.
function renderResponses() {
  const { left, right } = state.assignment;
  const diff = state.diff ? wordDiff(left, right) : null;
  if (state.diff && !diff) {
    state.diff = false;
    showStatus("These responses are too long or too different to compare word by word.", "error", 4000);
  }
  $("diff-toggle").setAttribute("aria-pressed", String(state.diff));
  if (diff) {
    renderDiff(diff.left, $("left"));
    renderDiff(diff.right, $("right"));
  } else {
    renderMarkdown(left, $("left"));
    renderMarkdown(right, $("right"));
  }
}

function toggleDiff() {
  if (!state.assignment || state.assignment.responses) return;
  state.diff = !state.diff;
  renderResponses();
}

async function refreshProgress() {
  try {
    if (currentStudy()) {
      const status = (await api("GET", "/api/study")).data;
      if (!status) return;
      $("progress").textContent = status.participant.screening
        ? "Qualification questions first"
        : `Judged ${status.participant.judged} of ${status.study.judgements}`;
      return;
    }
    const result = await api("GET", `/api/projects/${projectID}/progress`);
    const p = result.data?.progress;
    if (!p) return;
    // "left" counts the pair on screen too (the server's count).
    $("progress").textContent = `Done today: ${p.done_today} · left: ${p.left}`;
  } catch (error) {
    if (!(error instanceof SignedOut)) $("progress").textContent = "";
  }
}

// The annotator's favourite so far, for the rewrite box: the pair's chosen side,
// the top of the ranking, the best-rated response.
function bestPosition() {
  if (state.questions instanceof TaskView) return state.questions.best();
  const choice = state.questions?.choice;
  return choice === "left" ? 0 : choice === "right" ? 1 : null;
}

// MARK: The judgement

function resetJudgement() {
  state.pending = null;
  state.sending = false;
  $("rationale").value = "";
  state.rewrite?.reset();
  state.questions?.reset();
  setBusy(false);
  hideStatus();
}

async function submit() {
  if (!state.assignment || state.sending) return;
  if (!state.pending) {
    const missing = state.questions.missing();
    if (missing) {
      showStatus(missing, "error");
      return;
    }
    const rationale = $("rationale").value.trim();
    if (state.project.rationale_required && !rationale) {
      showStatus("This project asks for a rationale.", "error");
      $("rationale").focus();
      return;
    }
    const body = { ...state.questions.body(), duration_ms: Math.round(performance.now() - state.renderedAt) };
    if (rationale) body.rationale = rationale;
    const rewrite = state.rewrite.body();
    if (rewrite) body.rewrite = rewrite;
    state.pending = body;
  }
  if (state.held) return saveChange();
  state.sending = true;
  setBusy(true);
  const assignment = state.assignment;
  for (let attempt = 0; ; attempt += 1) {
    let result = null;
    try {
      result = await api("POST", `/api/assignments/${assignment.id}/annotation`, state.pending);
    } catch (error) {
      if (error instanceof SignedOut) return; // on the way to sign-in; the judgement is lost with the page
      result = null; // network failure: retry below
    }
    if (result && (result.status === 200 || result.status === 201)) {
      state.last = { assignment, body: state.pending };
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
    if (state.assignment?.id !== assignment.id) return;
  }
}

async function skip() {
  if (!state.assignment || state.sending || state.held) return;
  setBusy(true);
  await api("POST", `/api/assignments/${state.assignment.id}/skip`);
  await loadNext();
  showStatus("Skipped.", "ok", 1500);
}

// MARK: Changing the last judgement

// The last judgement may be changed while its lease lasts (the server checks too).
function canChangeLast() {
  return state.last !== null && Date.parse(state.last.assignment.expires_at) > Date.now();
}

function refreshUndo() {
  $("undo").hidden = state.held !== null || !canChangeLast();
}

function changeLast() {
  if (state.sending || state.held || !state.last) return;
  if (!canChangeLast()) {
    $("undo").hidden = true;
    showStatus("The time to change your last judgement has passed.", "error", 3000);
    return;
  }
  state.held = { assignment: state.assignment, renderedAt: state.renderedAt };
  const { assignment, body } = state.last;
  show(assignment);
  state.questions.fill(body);
  $("rationale").value = body.rationale ?? "";
  state.rewrite.fill(body.rewrite);
  state.pending = null;
  $("revising").hidden = false;
  $("undo").hidden = true;
  // Skipping means nothing for a judgement already made: no Skip while changing it.
  $("skip").hidden = true;
  hideStatus();
}

async function saveChange() {
  state.sending = true;
  setBusy(true);
  const { assignment } = state.last;
  const result = await api("PUT", `/api/assignments/${assignment.id}/annotation`, state.pending);
  if (result.ok) {
    state.last = { assignment, body: state.pending };
    backToHeld();
    showStatus("Changed.", "ok", 1500);
  } else if (result.status === 409) {
    state.last = null;
    backToHeld();
    showStatus("The time to change that judgement has passed; it stays as it was.", "error");
  } else {
    state.pending = null;
    state.sending = false;
    setBusy(false);
    showStatus(errorMessage(result), "error");
  }
}

function backToHeld() {
  const held = state.held;
  state.held = null;
  $("revising").hidden = true;
  $("skip").hidden = false;
  resetJudgement();
  if (!held?.assignment) return loadNext();
  show(held.assignment);
  state.renderedAt = held.renderedAt;
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

$("judgement").addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});
$("skip").addEventListener("click", () => skip());
$("undo").addEventListener("click", () => changeLast());
$("diff-toggle").addEventListener("click", () => toggleDiff());

// MARK: Keyboard

const keys = {
  s: () => skip(),
  u: () => changeLast(),
  d: () => toggleDiff(),
  r: () => { if (state.assignment) state.rewrite?.open(bestPosition()); },
  g: () => openDialog("guidelines"),
  "?": () => openDialog("help"),
  Enter: () => submit(),
  Escape: () => { if (state.held && !state.sending) backToHeld(); },
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
  // Arrow keys inside the prompt or a response scroll it.
  if (event.key.startsWith("Arrow") && target instanceof Element && target.closest("#prompt, .response-body")) return;
  if (state.assignment && !state.sending && state.questions?.key(event.key)) {
    event.preventDefault();
    return;
  }
  const action = keys[event.key];
  if (!action) return;
  event.preventDefault();
  action();
});

start().catch((error) => {
  if (!(error instanceof SignedOut)) showStatus("Cannot reach the server. Reload to try again.", "error");
});
