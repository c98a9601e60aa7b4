// Ranking and rating tasks on the annotate page, and the rewrite box of any kind.
//
// The same interface as Questions (reset, fill, key, missing, body), so the page
// treats every kind alike. Everything is by position on screen ("Response 3" is
// the third shown); the server maps positions to the task's own order.
//
// Ranking, keyboard first: press the responses' numbers best first; "=" before a
// number ties it with the one before (where the project allows ties); Backspace
// takes back the last; 0 starts over. The order panel shows the ranking so far;
// drag its rows (or use ↑/↓ on them) to reorder.
//
// Rating: one row of scores per response and attribute; the outlined row takes a
// digit (the score itself on scales within 0–9, else the n-th point), then moves
// on; ↑/↓ move between rows.

import { renderMarkdown } from "./markdown.js";

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

export class TaskView {
  constructor(project, grid, panel, onChange) {
    this.project = project;
    this.grid = grid;
    this.panel = panel;
    this.onChange = onChange;
    this.count = 0;
    this.reset();
  }

  get isRanking() { return this.project.kind === "ranking"; }

  // Lays out the K responses (columns on wide screens, a list on narrow ones).
  show(assignment) {
    const responses = assignment.responses;
    this.count = responses.length;
    this.grid.replaceChildren();
    this.grid.dataset.count = String(this.count);
    responses.forEach((text, position) => {
      const body = el("div", { className: "response-body", tabIndex: 0 });
      body.id = `response-${position + 1}`;
      renderMarkdown(text, body);
      const title = el("h2", { id: `response-title-${position + 1}` }, `Response ${position + 1}`);
      const badge = el("span", { className: "rank-badge", hidden: true });
      title.append(" ", badge);
      const card = el("section", { className: "card response task-response" }, title, body);
      card.dataset.position = String(position);
      card.setAttribute("aria-labelledby", title.id);
      if (!this.isRanking) card.append(this.ratingRows(position));
      this.grid.append(card);
    });
    this.reset();
  }

  ratingRows(position) {
    const wrapper = el("div", { className: "ratings" });
    const { scale_min: low, scale_max: high, scale_labels: labels = [] } = this.project;
    for (const attribute of this.project.attributes) {
      const fieldset = el("fieldset", { className: "question rating-row" });
      fieldset.dataset.position = String(position);
      fieldset.dataset.attribute = attribute;
      fieldset.append(el("legend", {}, `${attribute} (Response ${position + 1})`));
      for (let score = low; score <= high; score += 1) {
        const label = labels[score - low];
        const button = el("button", { type: "button", className: "score" }, String(score));
        if (label) {
          button.title = label;
          button.append(el("span", { className: "anchor" }, ` ${label}`));
        }
        button.dataset.value = String(score);
        button.setAttribute("aria-pressed", "false");
        button.setAttribute("aria-label", `${attribute} of response ${position + 1}: ${score}${label ? ` (${label})` : ""}`);
        button.addEventListener("click", () => this.rate(fieldset, score));
        fieldset.append(button);
      }
      fieldset.addEventListener("click", () => this.activate(fieldset));
      wrapper.append(fieldset);
    }
    return wrapper;
  }

  // MARK: State

  reset() {
    this.groups = []; // ranking: groups of positions, best first
    this.tieNext = false;
    this.scores = {}; // rating: "position/attribute" → score
    for (const button of this.grid.querySelectorAll(".score")) button.setAttribute("aria-pressed", "false");
    this.activate(this.rows()[0]);
    this.render();
  }

  fill(body) {
    this.reset();
    if (body.ranking) this.groups = body.ranking.map((entry) => (Array.isArray(entry) ? [...entry] : [entry]));
    if (body.ratings) {
      body.ratings.forEach((scores, position) => {
        for (const [attribute, score] of Object.entries(scores)) this.setScore(position, attribute, score);
      });
    }
    this.render();
  }

  rows() { return [...this.grid.querySelectorAll(".rating-row")]; }

  activate(row) {
    for (const other of this.rows()) {
      other.classList.toggle("active", other === row);
      if (other === row) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    }
    this.active = row ?? null;
  }

  // MARK: Ranking

  place(position) {
    if (position < 0 || position >= this.count) return;
    this.unplace(position);
    if (this.tieNext && this.groups.length > 0 && this.project.allow_ties) this.groups[this.groups.length - 1].push(position);
    else this.groups.push([position]);
    this.tieNext = false;
    this.render();
  }

  unplace(position) {
    this.groups = this.groups.map((group) => group.filter((p) => p !== position)).filter((group) => group.length > 0);
  }

  move(from, to) {
    if (from === to || to < 0 || to >= this.groups.length) return;
    const [group] = this.groups.splice(from, 1);
    this.groups.splice(to, 0, group);
    this.render();
  }

  placed() { return new Set(this.groups.flat()); }

  render() {
    if (!this.isRanking) return;
    for (const card of this.grid.querySelectorAll(".task-response")) {
      const position = Number(card.dataset.position);
      const rank = this.groups.findIndex((group) => group.includes(position));
      const badge = card.querySelector(".rank-badge");
      badge.hidden = rank < 0;
      badge.textContent = rank < 0 ? "" : `ranked ${rank + 1}`;
      card.classList.toggle("ranked", rank >= 0);
    }
    const list = el("ol", { className: "order-list", id: "order-list" });
    this.groups.forEach((group, index) => {
      const names = group.map((p) => `Response ${p + 1}`).join(" = ");
      const handle = el("span", { className: "drag-handle", title: "Drag to reorder", ariaHidden: "true" }, "⠿");
      const up = el("button", { type: "button", className: "link-button", title: "Move up", ariaLabel: `Move ${names} up` }, "↑");
      const down = el("button", { type: "button", className: "link-button", title: "Move down", ariaLabel: `Move ${names} down` }, "↓");
      const remove = el("button", { type: "button", className: "link-button", title: "Take out", ariaLabel: `Take ${names} out of the order` }, "✕");
      up.addEventListener("click", () => this.move(index, index - 1));
      down.addEventListener("click", () => this.move(index, index + 1));
      remove.addEventListener("click", () => {
        for (const p of group) this.unplace(p);
        this.render();
      });
      const item = el("li", { className: "order-item" }, handle, el("span", { className: "order-name" }, names), up, down, remove);
      item.dataset.index = String(index);
      item.addEventListener("pointerdown", (event) => this.startDrag(event, item));
      list.append(item);
    });
    const placed = this.placed();
    const rest = el("p", { className: "unranked" });
    const left = [...Array(this.count).keys()].filter((p) => !placed.has(p));
    if (left.length > 0) {
      rest.append("Not ranked yet: ");
      for (const p of left) {
        const chip = el("button", { type: "button", className: "chip" }, `Response ${p + 1}`);
        chip.addEventListener("click", () => this.place(p));
        rest.append(chip, " ");
      }
    } else {
      rest.textContent = "Every response is ranked.";
    }
    const hint = el("p", { className: "muted hint" },
      "Press the numbers best first", this.project.allow_ties ? " (= before a number ties it with the last)" : "",
      "; Backspace takes back the last, 0 starts over. Drag rows to reorder.");
    this.panel.replaceChildren(el("h2", {}, "Your order (best first)"), list, rest, hint);
    // On a phone an empty order is a line at the end of the page, not a panel
    // over the responses (CSS); it sticks to the bottom once something is ranked.
    this.panel.classList.toggle("empty", placed.size === 0);
    this.onChange();
  }

  // Drag with pointer events (mouse, touch and pen alike): while dragging, a line
  // marks where the row will land (by the pointer's height among the rows); it
  // lands there when let go.
  startDrag(event, item) {
    if (event.target instanceof HTMLButtonElement) return;
    event.preventDefault();
    const list = item.parentElement;
    const from = Number(item.dataset.index);
    let target = from;
    item.classList.add("dragging");
    const onMove = (move) => {
      const rows = [...list.children];
      target = rows.length - 1;
      for (const [i, row] of rows.entries()) {
        const box = row.getBoundingClientRect();
        if (move.clientY < box.top + box.height / 2) { target = i > from ? i - 1 : i; break; }
      }
      for (const [i, row] of rows.entries()) {
        row.classList.toggle("drop-before", i === target && target < from);
        row.classList.toggle("drop-after", i === target && target > from);
      }
    };
    const onUp = () => {
      document.removeEventListener("pointermove", onMove);
      document.removeEventListener("pointerup", onUp);
      document.removeEventListener("pointercancel", onUp);
      if (target !== from) this.move(from, target);
      else this.render();
    };
    document.addEventListener("pointermove", onMove);
    document.addEventListener("pointerup", onUp);
    document.addEventListener("pointercancel", onUp);
  }

  // MARK: Rating

  rate(row, score, advance = true) {
    this.setScore(Number(row.dataset.position), row.dataset.attribute, score);
    if (advance) {
      const rows = this.rows();
      const next = rows.slice(rows.indexOf(row) + 1).find((candidate) => this.scores[keyOf(candidate)] === undefined);
      this.activate(next ?? row);
    }
    this.onChange();
  }

  setScore(position, attribute, score) {
    const row = this.rows().find((candidate) => Number(candidate.dataset.position) === position && candidate.dataset.attribute === attribute);
    if (!row) return;
    this.scores[keyOf(row)] = score;
    for (const button of row.querySelectorAll(".score")) button.setAttribute("aria-pressed", String(Number(button.dataset.value) === score));
  }

  // MARK: Keys, checks, body

  key(key) {
    if (this.isRanking) {
      if (/^[1-9]$/.test(key) && Number(key) <= this.count) {
        this.place(Number(key) - 1);
        return true;
      }
      if (key === "=" && this.project.allow_ties) {
        this.tieNext = true;
        return true;
      }
      if (key === "Backspace") {
        const last = this.groups[this.groups.length - 1];
        if (last) {
          last.pop();
          if (last.length === 0) this.groups.pop();
          this.render();
        }
        return true;
      }
      if (key === "0") {
        this.groups = [];
        this.render();
        return true;
      }
      return false;
    }
    if (key === "ArrowDown" || key === "ArrowUp") {
      const rows = this.rows();
      const index = rows.indexOf(this.active) + (key === "ArrowDown" ? 1 : -1);
      if (index >= 0 && index < rows.length) {
        this.activate(rows[index]);
        rows[index].scrollIntoView({ block: "nearest" });
      }
      return true;
    }
    if (!/^[0-9]$/.test(key) || !this.active) return false;
    const { scale_min: low, scale_max: high } = this.project;
    const digit = Number(key);
    const score = low >= 0 && high <= 9 ? digit : low + digit - 1;
    if (score < low || score > high) return true;
    this.rate(this.active, score);
    const next = this.active;
    next?.scrollIntoView({ block: "nearest" });
    return true;
  }

  missing() {
    if (this.isRanking) {
      const left = [...Array(this.count).keys()].filter((p) => !this.placed().has(p));
      if (left.length === 0) return null;
      return `Rank every response: ${left.map((p) => p + 1).join(", ")} ${left.length === 1 ? "is" : "are"} not ranked yet.`;
    }
    const row = this.rows().find((candidate) => this.scores[keyOf(candidate)] === undefined);
    if (!row) return null;
    this.activate(row);
    row.scrollIntoView({ block: "nearest" });
    return `Score “${row.dataset.attribute}” of Response ${Number(row.dataset.position) + 1} too.`;
  }

  body() {
    if (this.isRanking) return { ranking: this.groups.map((group) => (group.length === 1 ? group[0] : [...group])) };
    const ratings = [...Array(this.count).keys()].map((position) => {
      const scores = {};
      for (const attribute of this.project.attributes) scores[attribute] = this.scores[`${position}/${attribute}`];
      return scores;
    });
    return { ratings };
  }

  // The position the annotator likes best so far (for the rewrite box), or null.
  best() {
    if (this.isRanking) return this.groups[0]?.[0] ?? null;
    let best = null;
    let bestMean = -Infinity;
    for (let position = 0; position < this.count; position += 1) {
      const values = this.project.attributes.map((attribute) => this.scores[`${position}/${attribute}`]).filter((v) => v !== undefined);
      if (values.length === 0) continue;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      if (mean > bestMean) { best = position; bestMean = mean; }
    }
    return best;
  }
}

const keyOf = (row) => `${row.dataset.position}/${row.dataset.attribute}`;
