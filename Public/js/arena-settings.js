// The arena part of the project form: which of the server's model endpoints
// battle (the endpoints file is the server's; keys never reach the page), the
// hourly prompt limit, turns per battle, blocked words, moderation and a pool of
// prompts to draw from. Only pairwise projects hold battles.

import { api } from "./api.js";

const el = (tag, text, className) => {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
};

/**
 * Adds the fieldset to `form`; returns { value() → settings or null, setKind(kind) }.
 * `initial` is the project's `arena` (null: not an arena).
 */
export function arenaSettings(form, prefix, initial) {
  const set = el("fieldset", undefined, "flags arena-settings");
  set.append(el("legend", "Arena"));
  const enableLabel = el("label", undefined, "check");
  const enabled = document.createElement("input");
  enabled.type = "checkbox";
  enabled.id = `${prefix}-arena`;
  enabled.checked = Boolean(initial);
  enableLabel.append(enabled, document.createTextNode(" Battles between live models: annotators type prompts, two hidden models answer"));
  set.append(enableLabel);
  const details = el("div", undefined, "arena-details");
  set.append(details);
  const endpointsBox = el("div", undefined, "arena-endpoints");
  endpointsBox.id = `${prefix}-arena-endpoints`;
  endpointsBox.append(el("p", "Loading the server's endpoints…", "muted"));
  details.append(endpointsBox);
  const number = (id, label, value, min, max) => {
    const wrap = el("label", undefined, "inline-field");
    wrap.htmlFor = id;
    const input = document.createElement("input");
    Object.assign(input, { id, type: "number", min, max, step: 1, value });
    wrap.append(document.createTextNode(label + " "), input);
    details.append(wrap);
    return input;
  };
  const perHour = number(`${prefix}-arena-per-hour`, "Prompts per annotator per hour", initial?.prompts_per_hour ?? 30, 1, 10000);
  const turns = number(`${prefix}-arena-turns`, "Turns per battle", initial?.max_turns ?? 3, 1, 20);
  const blockedLabel = el("label", "Blocked words (comma-separated; a prompt containing one is not sent)");
  blockedLabel.htmlFor = `${prefix}-arena-blocked`;
  const blocked = document.createElement("input");
  blocked.id = `${prefix}-arena-blocked`;
  blocked.value = (initial?.blocked_words ?? []).join(", ");
  details.append(blockedLabel, blocked);
  const moderationLabel = el("label", undefined, "check");
  const moderation = document.createElement("input");
  moderation.type = "checkbox";
  moderation.id = `${prefix}-arena-moderation`;
  moderation.checked = Boolean(initial?.moderation);
  moderationLabel.append(moderation, document.createTextNode(" Check each prompt with the server's moderation endpoint first"));
  details.append(moderationLabel);
  const poolLabel = el("label", "Prompt pool (one per line; annotators may draw one instead of typing)");
  poolLabel.htmlFor = `${prefix}-arena-pool`;
  const pool = document.createElement("textarea");
  pool.id = `${prefix}-arena-pool`;
  pool.rows = 3;
  pool.value = (initial?.prompt_pool ?? []).join("\n");
  details.append(poolLabel, pool);
  form.append(set);

  const chosen = new Set(initial?.endpoints ?? []);
  const boxes = [];
  api("GET", "/api/endpoints").then((result) => {
    endpointsBox.replaceChildren();
    const endpoints = result.data?.endpoints ?? [];
    if (!endpoints.length) {
      endpointsBox.append(el("p", "This server has no model endpoints: start it with --endpoints-file (see docs/ARENA.md).", "muted"));
    }
    for (const endpoint of endpoints) {
      const label = el("label", undefined, "check");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = endpoint.name;
      box.checked = chosen.has(endpoint.name);
      box.addEventListener("change", () => (box.checked ? chosen.add(endpoint.name) : chosen.delete(endpoint.name)));
      const about = `${endpoint.name} — ${endpoint.model} at ${endpoint.base_url}, ${endpoint.concurrency} at a time${endpoint.has_key ? ", key set" : ""}`;
      label.append(box, document.createTextNode(" " + about));
      endpointsBox.append(label);
      boxes.push(box);
    }
    if (!result.data?.moderation) {
      moderation.disabled = !moderation.checked;
      moderationLabel.title = "This server has no moderation endpoint";
    }
  });
  const refresh = () => { details.hidden = !enabled.checked; };
  enabled.addEventListener("change", refresh);
  refresh();

  return {
    value() {
      if (!enabled.checked) return null;
      return {
        endpoints: [...chosen],
        prompts_per_hour: Number(perHour.value),
        max_turns: Number(turns.value),
        blocked_words: blocked.value.split(",").map((word) => word.trim()).filter((word) => word.length > 0),
        moderation: moderation.checked,
        prompt_pool: pool.value.split("\n").map((line) => line.trim()).filter((line) => line.length > 0),
      };
    },
    setKind(kind) {
      enabled.disabled = kind !== "pairwise";
      if (enabled.disabled) enabled.checked = false;
      refresh();
    },
  };
}
