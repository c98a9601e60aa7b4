// The annotate page's optional rewrite box (projects that ask for rewrites):
// the annotator starts from one of the responses shown — by default the one they
// like best so far — and edits it into a better one. Positions are as shown; the
// server maps them to the task's own order.

const $ = (id) => document.getElementById(id);

export class RewriteBox {
  constructor(enabled) {
    this.enabled = enabled;
    this.responses = [];
    $("rewrite").hidden = !enabled;
    $("rewrite-base").addEventListener("change", () => {
      const text = $("rewrite-text");
      // Switching the base replaces an untouched copy, never the annotator's edits.
      if (!text.value || this.responses.includes(text.value)) text.value = this.responses[Number($("rewrite-base").value)] ?? "";
    });
  }

  // The responses on screen, in order, as the starting points to choose from.
  show(responses) {
    this.responses = responses;
    $("rewrite-base").replaceChildren(...responses.map((_, position) => {
      const option = document.createElement("option");
      option.value = String(position);
      option.textContent = `Response ${position + 1}`;
      return option;
    }));
  }

  reset() {
    $("rewrite-text").value = "";
    $("rewrite").open = false;
  }

  // Opens the box on `best` (a position, or null), its text to edit if the box is empty.
  open(best) {
    if (!this.enabled || this.responses.length === 0) return;
    $("rewrite").open = true;
    if (best !== null && !$("rewrite-text").value) $("rewrite-base").value = String(best);
    if (!$("rewrite-text").value) $("rewrite-text").value = this.responses[Number($("rewrite-base").value)] ?? "";
    $("rewrite-text").focus();
  }

  // Back to an earlier judgement's rewrite (when changing it).
  fill(rewrite) {
    if (!rewrite) return;
    $("rewrite-base").value = String(rewrite.base);
    $("rewrite-text").value = rewrite.text;
    $("rewrite").open = true;
  }

  // {base, text} for the body, or null (no box, empty, or unchanged).
  body() {
    const text = $("rewrite-text").value;
    const base = Number($("rewrite-base").value);
    if (!this.enabled || !text.trim() || text === this.responses[base]) return null;
    return { base, text };
  }
}
