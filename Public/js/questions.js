// The questions of a judgement, as rows: which response is better, how much
// (strength), and one row per aspect. One row is active at a time (outlined);
// the digit keys answer it, and answering moves on to the next unanswered row, so
// choice + strength + two aspects + Enter is five keystrokes: 1 w 1 3 Enter.
// q/w/e always set the strength; ↑/↓ move between rows; a click answers any row.

const STRENGTH_KEYS = { q: 1, w: 2, e: 3 };

export class Questions {
  constructor(form, project, onChange) {
    this.form = form;
    this.project = project;
    this.onChange = onChange;
    this.buildAspects();
    for (const button of form.querySelectorAll(".choice")) {
      button.addEventListener("click", () => this.answer(this.rowOf(button), button.dataset.value));
    }
    for (const button of form.querySelectorAll(".strength-choice")) {
      button.addEventListener("click", () => this.answer(this.rowOf(button), button.dataset.value));
    }
    form.querySelector('[data-value="tie"].choice').hidden = !project.allow_ties;
    form.querySelector('[data-value="both_bad"].choice').hidden = !project.allow_both_bad;
    form.querySelector("#strength legend").textContent =
      project.strength_required ? "How much better? (required)" : "How much better?";
    this.reset();
  }

  buildAspects() {
    const container = this.form.querySelector("#aspects");
    container.replaceChildren();
    const suffix = this.project.aspects_required ? " (required)" : "";
    for (const aspect of this.project.aspects) {
      const fieldset = document.createElement("fieldset");
      fieldset.className = "question aspect";
      fieldset.dataset.aspect = aspect;
      const legend = document.createElement("legend");
      legend.textContent = `${aspect}: which is better?${suffix}`;
      fieldset.append(legend);
      for (const [value, label, key] of [["left", "Response 1", "1"], ["right", "Response 2", "2"], ["tie", "Same", "3"]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "aspect-choice";
        button.dataset.value = value;
        button.setAttribute("aria-pressed", "false");
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        button.append(label + " ", kbd);
        button.addEventListener("click", () => this.answer(fieldset, value));
        fieldset.append(button);
      }
      container.append(fieldset);
    }
  }

  // MARK: State

  reset() {
    this.choice = null;
    this.strength = null;
    this.aspects = {};
    for (const button of this.form.querySelectorAll(".question [aria-pressed]")) button.setAttribute("aria-pressed", "false");
    this.form.querySelector("#strength").hidden = true;
    this.activate(this.rows()[0]);
  }

  // Sets the answers (when changing an earlier judgement).
  fill(body) {
    this.reset();
    if (body.choice) this.answer(this.rows()[0], body.choice, false);
    if (body.strength) this.answer(this.form.querySelector("#strength"), String(body.strength), false);
    for (const [aspect, value] of Object.entries(body.aspects ?? {})) {
      const row = this.rows().find((candidate) => candidate.dataset.aspect === aspect);
      if (row) this.answer(row, value, false);
    }
    this.activate(this.rows()[0]);
  }

  get decisive() {
    return this.choice === "left" || this.choice === "right";
  }

  // The visible rows, in order.
  rows() {
    return [...this.form.querySelectorAll(".question")].filter((row) => !row.hidden);
  }

  rowOf(button) {
    return button.closest(".question");
  }

  isAnswered(row) {
    if (row.classList.contains("choices")) return this.choice !== null;
    if (row.id === "strength") return this.strength !== null;
    return this.aspects[row.dataset.aspect] !== undefined;
  }

  activate(row) {
    for (const other of this.form.querySelectorAll(".question")) {
      other.classList.toggle("active", other === row);
      if (other === row) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    }
    this.active = row ?? null;
  }

  // MARK: Answering

  answer(row, value, advance = true) {
    if (!row || row.hidden) return;
    const button = [...row.querySelectorAll("button")].find((candidate) => candidate.dataset.value === value);
    if (!button || button.hidden) return;
    for (const other of row.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
    if (row.classList.contains("choices")) {
      this.choice = value;
      const strengthRow = this.form.querySelector("#strength");
      strengthRow.hidden = !(this.decisive && this.project.strength_enabled);
      if (strengthRow.hidden) this.setStrength(null);
    } else if (row.id === "strength") {
      this.strength = Number(value);
    } else {
      this.aspects[row.dataset.aspect] = value;
    }
    if (advance) {
      const rows = this.rows();
      const next = rows.slice(rows.indexOf(row) + 1).find((candidate) => !this.isAnswered(candidate));
      this.activate(next ?? row);
    }
    this.onChange();
  }

  setStrength(strength) {
    const row = this.form.querySelector("#strength");
    if (strength === null) {
      this.strength = null;
      for (const button of row.querySelectorAll("button")) button.setAttribute("aria-pressed", "false");
      return;
    }
    if (!this.decisive || !this.project.strength_enabled) return;
    this.answer(row, String(strength));
  }

  // A key press: true when it was a question key.
  key(key) {
    if (key in STRENGTH_KEYS) {
      this.setStrength(STRENGTH_KEYS[key]);
      return true;
    }
    if (key === "ArrowDown" || key === "ArrowUp") {
      const rows = this.rows();
      const index = rows.indexOf(this.active) + (key === "ArrowDown" ? 1 : -1);
      if (index >= 0 && index < rows.length) this.activate(rows[index]);
      return true;
    }
    if (!/^[1-4]$/.test(key) || !this.active) return false;
    const values = this.active.classList.contains("choices")
      ? ["left", "right", "tie", "both_bad"]
      : this.active.id === "strength" ? ["1", "2", "3"] : ["left", "right", "tie"];
    const value = values[Number(key) - 1];
    if (value) this.answer(this.active, value);
    return true;
  }

  // MARK: Submitting

  // What is still missing, as a message, with that row made active; or null.
  missing() {
    const project = this.project;
    if (!this.choice) {
      this.activate(this.rows()[0]);
      return "Choose a response first: 1, 2" + (project.allow_ties ? ", 3" : "") + (project.allow_both_bad ? " or 4" : "") + ".";
    }
    if (project.strength_required && this.decisive && !this.strength) {
      this.activate(this.form.querySelector("#strength"));
      return "Say how much better: q, w or e.";
    }
    if (project.aspects_required) {
      const row = this.rows().find((candidate) => candidate.dataset.aspect && !this.isAnswered(candidate));
      if (row) {
        this.activate(row);
        return `Answer “${row.dataset.aspect}” too: 1, 2 or 3.`;
      }
    }
    return null;
  }

  // The answers as the API takes them.
  body() {
    const body = { choice: this.choice };
    if (this.strength && this.decisive) body.strength = this.strength;
    if (Object.keys(this.aspects).length > 0) body.aspects = { ...this.aspects };
    return body;
  }
}
