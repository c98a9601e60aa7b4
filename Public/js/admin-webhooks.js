// /admin, Webhooks: register an endpoint (the secret is shown once), see each
// endpoint's deliveries and the last answer of those that failed, send failed
// ones again, remove. Untrusted text (URLs, answers) only via textContent.
import { api, errorMessage } from "./api.js";
import { button, cell, element, number, stackOnPhones, when } from "./dom.js";

const $ = (id) => document.getElementById(id);

/** Wires the section; `status(text, ok)` is the page's message line. */
export async function startWebhooks(status) {
  stackOnPhones($("webhooks"));
  stackOnPhones($("webhook-deliveries"));
  const [hooks, projects] = await Promise.all([api("GET", "/api/webhooks"), api("GET", "/api/projects")]);
  for (const project of projects.data?.projects ?? []) {
    const option = element("option", project.name);
    option.value = String(project.id);
    $("webhook-project").append(option);
  }
  const boxes = [];
  for (const type of hooks.data?.events ?? []) {
    const label = element("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = type;
    box.disabled = true;
    boxes.push(box);
    label.append(box, ` ${type}`);
    $("webhook-events").append(label);
  }
  $("webhook-all").addEventListener("change", () => {
    for (const box of boxes) box.disabled = $("webhook-all").checked;
  });
  $("webhook-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const events = $("webhook-all").checked ? "*" : boxes.filter((box) => box.checked).map((box) => box.value);
    const body = { url: $("webhook-url").value.trim(), events, description: $("webhook-description").value };
    if ($("webhook-project").value) body.project = Number($("webhook-project").value);
    const answer = await api("POST", "/api/webhooks", body);
    if (!answer.ok) return status(errorMessage(answer));
    $("webhook-secret").value = answer.data.webhook.secret;
    $("webhook-created").hidden = false;
    $("webhook-secret").select();
    status("Webhook added.", true);
    await load(status);
  });
  render(hooks.data?.webhooks ?? [], status);
}

async function load(status) {
  const answer = await api("GET", "/api/webhooks");
  render(answer.data?.webhooks ?? [], status);
}

function render(webhooks, status) {
  const body = $("webhooks").tBodies[0];
  body.replaceChildren();
  for (const hook of webhooks) {
    const row = document.createElement("tr");
    const url = element("span", hook.url, "url");
    if (hook.description) url.title = hook.description;
    cell(row, url);
    cell(row, hook.project?.name ?? "every project");
    cell(row, Array.isArray(hook.events) ? hook.events.join(", ") : "all");
    cell(row, number(hook.deliveries.delivered));
    cell(row, number(hook.deliveries.pending));
    const failed = cell(row, number(hook.deliveries.failed));
    if (hook.deliveries.failed > 0) failed.className = "bad";
    const actions = cell(row, "");
    actions.className = "actions";
    actions.append(button("Deliveries", () => showDeliveries(hook, status)));
    if (hook.deliveries.failed > 0) {
      actions.append(button("Send failed again", async () => {
        const answer = await api("POST", `/api/webhooks/${hook.id}/retry`);
        if (!answer.ok) return status(errorMessage(answer));
        status(`${number(answer.data.retried)} deliveries queued again.`, true);
        await load(status);
      }));
    }
    actions.append(button("Remove", async () => {
      if (!confirm(`Remove the webhook to ${hook.url}? What it has not received yet is dropped.`)) return;
      const answer = await api("DELETE", `/api/webhooks/${hook.id}`);
      if (!answer.ok) return status(errorMessage(answer));
      status("Webhook removed.", true);
      $("webhook-deliveries-box").hidden = true;
      await load(status);
    }));
    body.append(row);
  }
}

async function showDeliveries(hook, status) {
  const answer = await api("GET", `/api/webhooks/${hook.id}/deliveries?limit=50`);
  if (!answer.ok) return status(errorMessage(answer));
  $("webhook-deliveries-title").textContent = `Deliveries to ${hook.url} (newest first)`;
  const body = $("webhook-deliveries").tBodies[0];
  body.replaceChildren();
  for (const delivery of answer.data.deliveries) {
    const row = document.createElement("tr");
    cell(row, delivery.event_id);
    cell(row, delivery.type);
    const state = cell(row, delivery.state === "pending" && delivery.attempts > 0 ? `retrying (next ${when(delivery.next_attempt_at)})` : delivery.state);
    if (delivery.state === "failed") state.className = "bad";
    cell(row, number(delivery.attempts));
    cell(row, when(delivery.last_attempt_at));
    const last = delivery.last_status != null ? `${delivery.last_status} ${delivery.last_response ?? ""}` : (delivery.last_response ?? "");
    cell(row, element("span", last.trim(), "response"));
    body.append(row);
  }
  $("webhook-deliveries-box").hidden = false;
}
