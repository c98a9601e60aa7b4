// The arena page: the annotator's prompt goes to two anonymous models whose
// answers stream in side by side; follow-ups continue the battle; the vote
// reveals which models they were.
//
// Answers arrive as server-sent events on the POST's response body (read with
// fetch, since EventSource cannot POST): {"type":"token","side":"a","text":…},
// then "done" or "error" per side, then "end". Untrusted text is only ever set
// as text (streaming) or rendered by the safe Markdown renderer (when done).

import { api, csrf, errorMessage, goToSignIn, me, SignedOut } from "./api.js";
import { renderMarkdown } from "./markdown.js";

const projectID = Number(location.pathname.split("/")[2]);
const $ = (id) => document.getElementById(id);

const state = {
  arena: null,
  battle: null, // id of the open battle
  turns: 0,
  streaming: false,
  canVote: false,
  voted: false,
  startedAt: 0,
  firstPrompt: "",
};

async function start() {
  await me();
  const result = await api("GET", `/api/projects/${projectID}/arena`);
  if (!result.ok) {
    showStatus(errorMessage(result), "error");
    $("ask").hidden = true;
    return;
  }
  state.arena = result.data;
  $("project-name").textContent = result.data.project.name;
  document.title = `Arena · ${result.data.project.name} · Arbiter`;
  $("draw").hidden = !(result.data.pool > 0);
  for (const button of $("vote").querySelectorAll(".choice")) {
    if (button.dataset.choice === "tie") button.hidden = !result.data.allow_ties;
    if (button.dataset.choice === "both_bad") button.hidden = !result.data.allow_both_bad;
    button.addEventListener("click", () => vote(button.dataset.choice));
  }
  showQuota(result.data);
  if (!result.data.ready) {
    showStatus("This arena's models are not available on this server yet; ask an admin.", "error");
    $("send").disabled = true;
  }
  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      send();
    }
  });
  $("prompt").addEventListener("keydown", (event) => {
    // Esc leaves the follow-up box for the vote keys.
    if (event.key === "Escape" && state.canVote) {
      event.preventDefault();
      focusVote();
    }
  });
  $("draw").addEventListener("click", draw);
  $("new-battle").addEventListener("click", reset);
  $("clear").addEventListener("click", reset);
  $("regenerate").addEventListener("click", regenerate);
  document.addEventListener("keydown", onKey);
  $("prompt").focus();
  document.body.dataset.ready = "true";
}

function showQuota(data) {
  $("quota").textContent = `${data.prompts_left} of ${data.prompts_per_hour} prompts left this hour`;
}

function showStatus(text, kind = "ok") {
  const status = $("status");
  status.textContent = text;
  status.className = `status ${kind}`;
  status.hidden = !text;
}

function onKey(event) {
  if (event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const choices = { 1: "A", 2: "B", 3: "tie", 4: "both_bad" };
  if (choices[event.key] && state.canVote && !state.voted) {
    const button = $("vote").querySelector(`[data-choice="${choices[event.key]}"]`);
    if (button && !button.hidden) {
      event.preventDefault();
      vote(choices[event.key]);
    }
  } else if (event.key === "n" && (state.voted || state.canVote)) {
    event.preventDefault();
    reset();
  } else if (event.key === "r" && state.canVote && state.turns === 1) {
    event.preventDefault();
    regenerate();
  } else if (event.key === "f" && state.canVote && !$("prompt").disabled) {
    event.preventDefault();
    $("prompt").focus();
  }
}

/** After the answers: the vote keys work at once (the follow-up box is one `f` away). */
function focusVote() {
  $("prompt").blur();
  $("vote").querySelector(".choice:not([hidden])")?.focus();
}

/** The same first prompt in a fresh battle; the open one is left unvoted (not counted). */
function regenerate() {
  if (state.streaming || !state.canVote || state.turns !== 1) return;
  const prompt = state.firstPrompt;
  reset();
  $("prompt").value = prompt;
  send();
}

async function draw() {
  const result = await api("GET", `/api/projects/${projectID}/arena?draw=true`);
  if (result.ok && result.data.drawn) {
    $("prompt").value = result.data.drawn;
    $("prompt").focus();
  }
}

function reset() {
  state.battle = null;
  state.turns = 0;
  state.canVote = false;
  state.voted = false;
  $("side-a").replaceChildren();
  $("side-b").replaceChildren();
  $("side-a-title").textContent = "Model A";
  $("side-b-title").textContent = "Model B";
  $("vote").hidden = true;
  $("new-battle").hidden = true;
  $("ask").hidden = false;
  for (const id of ["prompt", "prompt-label", "send"]) $(id).hidden = false;
  $("draw").hidden = !(state.arena?.pool > 0);
  $("prompt").disabled = false;
  $("send").disabled = false;
  $("prompt-label").textContent = "Your prompt";
  $("turns").textContent = "";
  showStatus("");
  $("prompt").focus();
}

/** One turn's bubbles: the prompt, then the answer growing as tokens arrive. */
function addTurn(prompt) {
  const answers = {};
  for (const side of ["a", "b"]) {
    const turn = document.createElement("div");
    turn.className = "arena-turn";
    const asked = document.createElement("p");
    asked.className = "arena-prompt";
    asked.textContent = prompt;
    const answer = document.createElement("div");
    answer.className = "arena-answer streaming";
    answer.dataset.side = side;
    answer.setAttribute("aria-busy", "true");
    turn.append(asked, answer);
    $(`side-${side}`).append(turn);
    answers[side] = { element: answer, text: "" };
  }
  return answers;
}

async function send() {
  if (state.streaming || state.voted) return;
  const prompt = $("prompt").value.trim();
  if (!prompt) {
    showStatus("Type a prompt first (or draw one).", "error");
    return;
  }
  const path = state.battle ? `/api/battles/${state.battle}/turns` : `/api/projects/${projectID}/battles`;
  state.streaming = true;
  $("send").disabled = true;
  $("vote").hidden = true;
  showStatus("");
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream", "X-CSRF-Token": await csrf() },
      body: JSON.stringify({ prompt }),
      credentials: "same-origin",
    });
  } catch {
    showStatus("The server could not be reached; try again.", "error");
    finishStreaming();
    return;
  }
  if (response.status === 401) {
    goToSignIn();
    return;
  }
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    showStatus(errorMessage({ status: response.status, data }), "error");
    finishStreaming();
    return;
  }
  $("prompt").value = "";
  $("intro").hidden = true;
  if (!state.battle) {
    state.startedAt = performance.now();
    state.firstPrompt = prompt;
  }
  const answers = addTurn(prompt);
  let end = null;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of block.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const event = JSON.parse(line.slice(6));
          if (event.type === "start") state.battle = event.battle;
          else if (event.type === "token") {
            const answer = answers[event.side];
            answer.text += event.text;
            answer.element.textContent = answer.text;
          } else if (event.type === "done") {
            const answer = answers[event.side];
            answer.element.classList.remove("streaming");
            answer.element.removeAttribute("aria-busy");
            answer.element.replaceChildren();
            renderMarkdown(answer.text, answer.element);
          } else if (event.type === "error") {
            const answer = answers[event.side];
            answer.element.classList.remove("streaming");
            answer.element.classList.add("failed");
            answer.element.removeAttribute("aria-busy");
            showStatus(event.message, "error");
          } else if (event.type === "end") end = event;
        }
      }
    }
  } catch {
    end = null;
  }
  if (!end) showStatus("The answers were cut off; start a new battle.", "error");
  state.turns += 1;
  const refreshed = await api("GET", `/api/projects/${projectID}/arena`);
  if (refreshed.ok) showQuota(refreshed.data);
  if (end && end.state === "open") {
    state.canVote = true;
    $("vote").hidden = false;
    $("turns").textContent = end.turns_left > 0 ? `${end.turns_left} follow-up${end.turns_left === 1 ? "" : "s"} left` : "No follow-ups left: vote";
    $("prompt-label").textContent = "A follow-up (optional), or vote";
    $("prompt").disabled = end.turns_left === 0;
    $("draw").hidden = true;
    $("regenerate").hidden = state.turns !== 1;
    $("vote-hint").textContent = `Press 1–4 to vote${state.turns === 1 ? ", r to regenerate" : ""}, n to clear${end.turns_left > 0 ? ", f to write a follow-up (Esc returns here)" : ""}.`;
  } else {
    state.canVote = false;
    $("new-battle").hidden = false;
    state.voted = true; // nothing more to do in this battle
  }
  finishStreaming();
}

function finishStreaming() {
  state.streaming = false;
  $("send").disabled = state.voted || $("prompt").disabled;
  if (state.canVote) focusVote();
}

async function vote(choice) {
  if (!state.battle || !state.canVote || state.voted || state.streaming) return;
  state.canVote = false;
  const result = await api("POST", `/api/battles/${state.battle}/vote`, {
    choice,
    duration_ms: Math.round(performance.now() - state.startedAt),
  });
  if (!result.ok) {
    state.canVote = true;
    showStatus(errorMessage(result), "error");
    return;
  }
  state.voted = true;
  $("side-a-title").textContent = `Model A · ${result.data.model_a}`;
  $("side-b-title").textContent = `Model B · ${result.data.model_b}`;
  const said = { A: "Model A is better", B: "Model B is better", tie: "A tie", both_bad: "Both are bad" }[result.data.choice];
  showStatus(`Vote stored: ${said}. Model A was ${result.data.model_a}, model B was ${result.data.model_b}.`, "ok");
  $("vote").hidden = true;
  // Nothing more to type in this battle: only the way to the next one.
  for (const id of ["prompt", "prompt-label", "send", "draw"]) $(id).hidden = true;
  $("turns").textContent = "Press n (or the button) for a new battle.";
  $("new-battle").hidden = false;
  $("new-battle").focus();
}

start().catch((error) => {
  if (!(error instanceof SignedOut)) showStatus(String(error), "error");
});
