// /admin: projects (list, create), people (role, disable), invites, API tokens, webhooks (admin-webhooks.js).
// Everything goes through the JSON API; untrusted text only via textContent.
import { api, errorMessage, me, signOut } from "./api.js";
import { buildSettingsForm } from "./settings-form.js";
import { cell, stackOnPhones } from "./dom.js";
import { startWebhooks } from "./admin-webhooks.js";

for (const id of ["projects", "people", "invites", "tokens"]) stackOnPhones(document.getElementById(id));

const $ = (id) => document.getElementById(id);
let self = null;

document.getElementById("sign-out").addEventListener("click", () => signOut());

function status(text, ok = false) {
  const box = $("status");
  box.textContent = text;
  box.className = ok ? "status ok" : "status error";
  box.hidden = !text;
}

function link(href, text, className = "") {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  if (className) a.className = className;
  return a;
}

function when(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

async function loadProjects() {
  const result = await api("GET", "/api/projects");
  const body = $("projects").tBodies[0];
  body.replaceChildren();
  for (const project of result.data?.projects ?? []) {
    const row = document.createElement("tr");
    cell(row, link(`/admin/projects/${project.id}`, project.name));
    cell(row, String(project.pairs));
    cell(row, String(project.annotations));
    cell(row, String(project.overlap));
    const actions = document.createElement("span");
    actions.className = "row-actions";
    actions.append(link(`/admin/projects/${project.id}`, "Dashboard"), link(`/projects/${project.id}/review`, "Review"),
      link(`/projects/${project.id}/annotate`, "Annotate"));
    cell(row, actions);
    body.append(row);
  }
}

async function loadPeople() {
  const result = await api("GET", "/api/users");
  const body = $("people").tBodies[0];
  body.replaceChildren();
  for (const user of result.data?.users ?? []) {
    const row = document.createElement("tr");
    row.dataset.username = user.username;
    cell(row, user.username + (user.can_log_in ? "" : " (imported)"));
    const select = document.createElement("select");
    select.setAttribute("aria-label", `Role of ${user.username}`);
    for (const role of ["annotator", "reviewer", "admin"]) {
      const option = document.createElement("option");
      option.value = role;
      option.textContent = role;
      option.selected = role === user.role;
      select.append(option);
    }
    select.disabled = user.id === self?.id;
    select.addEventListener("change", async () => {
      const answer = await api("PATCH", `/api/users/${user.id}`, { role: select.value });
      if (answer.ok) status(`${user.username} is now ${select.value}.`, true);
      else {
        status(errorMessage(answer));
        select.value = user.role;
      }
    });
    cell(row, select);
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.textContent = user.disabled ? "Enable" : "Disable";
    toggle.disabled = user.id === self?.id;
    toggle.setAttribute("aria-label", `${user.disabled ? "Enable" : "Disable"} ${user.username}`);
    toggle.addEventListener("click", async () => {
      const answer = await api("PATCH", `/api/users/${user.id}`, { disabled: !user.disabled });
      if (answer.ok) {
        status(`${user.username} ${user.disabled ? "enabled" : "disabled"}.`, true);
        await loadPeople();
      } else status(errorMessage(answer));
    });
    const state = document.createElement("span");
    state.textContent = user.disabled ? "disabled " : "active ";
    const wrap = document.createElement("span");
    wrap.append(state, toggle);
    cell(row, wrap);
    cell(row, String(user.judgements));
    cell(row, when(user.last_seen_at));
    const reset = document.createElement("button");
    reset.type = "button";
    reset.textContent = "Reset link";
    reset.disabled = user.disabled;
    reset.setAttribute("aria-label", `Password-reset link for ${user.username}`);
    reset.addEventListener("click", async () => {
      const answer = await api("POST", `/api/users/${user.id}/password-reset`, {});
      if (!answer.ok) return status(errorMessage(answer));
      $("reset-user").textContent = user.username;
      $("reset-link").value = new URL(answer.data.reset.url, location.origin).href;
      $("reset-created").hidden = false;
      $("reset-link").select();
    });
    cell(row, reset);
    body.append(row);
  }
}

async function loadInvites() {
  const result = await api("GET", "/api/invites");
  const body = $("invites").tBodies[0];
  body.replaceChildren();
  for (const invite of result.data?.invites ?? []) {
    const row = document.createElement("tr");
    cell(row, invite.role);
    cell(row, when(invite.created_at));
    cell(row, when(invite.expires_at));
    const state = invite.revoked ? "revoked" : invite.used ? "used" : new Date(invite.expires_at) < new Date() ? "expired" : "open";
    cell(row, state);
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.textContent = "Revoke";
    revoke.hidden = state !== "open";
    revoke.addEventListener("click", async () => {
      const answer = await api("DELETE", `/api/invites/${invite.id}`);
      if (answer.ok) await loadInvites();
      else status(errorMessage(answer));
    });
    cell(row, revoke);
    body.append(row);
  }
}

async function loadTokens() {
  const result = await api("GET", "/api/tokens");
  const body = $("tokens").tBodies[0];
  body.replaceChildren();
  for (const token of result.data?.tokens ?? []) {
    if (token.revoked) continue;
    const row = document.createElement("tr");
    cell(row, token.username);
    cell(row, token.label);
    cell(row, when(token.created_at));
    cell(row, when(token.last_used_at));
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.textContent = "Revoke";
    revoke.addEventListener("click", async () => {
      const answer = await api("DELETE", `/api/tokens/${token.id}`);
      if (answer.ok) {
        status("Token revoked (it stops working within 5 seconds).", true);
        await loadTokens();
      } else status(errorMessage(answer));
    });
    cell(row, revoke);
    body.append(row);
  }
}

$("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await api("POST", "/api/invites", { role: $("invite-role").value, expires_in_hours: Number($("invite-hours").value) });
  if (!answer.ok) return status(errorMessage(answer));
  $("invite-link").value = new URL(answer.data.invite.url, location.origin).href;
  $("invite-created").hidden = false;
  $("invite-link").select();
  await loadInvites();
});

function copyButton(button, input, what) {
  $(button).addEventListener("click", async () => {
    $(input).select();
    try {
      await navigator.clipboard.writeText($(input).value);
      status(`${what} copied.`, true);
    } catch {
      status("Select the link and copy it (the browser did not allow it).");
    }
  });
}
copyButton("invite-copy", "invite-link", "Invite link");
copyButton("reset-copy", "reset-link", "Password-reset link");

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await api("POST", "/api/tokens", { username: $("token-user").value.trim(), label: $("token-label").value });
  if (!answer.ok) return status(errorMessage(answer));
  $("token-value").value = answer.data.token.token;
  $("token-created").hidden = false;
  $("token-value").select();
  await loadTokens();
});

async function start() {
  self = await me();
  $("who").textContent = `${self.username} (${self.role})`;
  if (self.role !== "admin") {
    status("This page is for admins.");
    document.querySelectorAll("main > section").forEach((section) => { section.hidden = true; });
    document.body.dataset.ready = "true";
    return;
  }
  buildSettingsForm($("project-form"), {}, "Create project", async (body) => {
    const answer = await api("POST", "/api/projects", body);
    if (!answer.ok) return errorMessage(answer);
    location.assign(`/admin/projects/${answer.data.project.id}`);
    return null;
  });
  await Promise.all([loadProjects(), loadPeople(), loadInvites(), loadTokens(), startWebhooks(status)]);
  document.body.dataset.ready = "true";
}

start().catch(() => {});
