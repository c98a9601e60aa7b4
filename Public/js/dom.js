// Small DOM helpers shared by the pages. Untrusted text goes in as textContent only.

/** A new element with `text` as its text (never parsed as HTML) and an optional class. */
export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** 12345 → "12,345". */
export const number = (value) => Number(value).toLocaleString("en-US");

/**
 * On a phone a wide table becomes a list of cards, each cell led by its column's
 * name (CSS `table.stack`): every cell added to `table`'s body gets its header as
 * `data-label`, now and as rows come.
 */
export function stackOnPhones(table) {
  table.classList.add("stack");
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  const label = () => {
    for (const row of table.tBodies[0]?.rows ?? []) {
      [...row.cells].forEach((cell, index) => {
        if (!cell.dataset.label && cell.colSpan === 1) cell.dataset.label = names[index] ?? "";
      });
    }
  };
  new MutationObserver(label).observe(table.tBodies[0], { childList: true });
  label();
}

/** What a project's items are called: pairs in pairwise projects, tasks in ranking and rating ones. */
export function itemWord(kind, count = 2) {
  const word = kind && kind !== "pairwise" ? "task" : "pair";
  return count === 1 ? word : `${word}s`;
}

/** "1 judgement", "3 judgements". */
export const plural = (count, word) => `${number(count)} ${word}${count === 1 ? "" : "s"}`;

/** A table cell with `content` (a node, or text — never HTML) appended to `row`. */
export function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  row.append(td);
  return td;
}

/** A button (type=button) labelled `text` that calls `onClick`. */
export function button(text, onClick) {
  const node = element("button", text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

/** An ISO time in the reader's locale, or "—". */
export const when = (text) => (text ? new Date(text).toLocaleString() : "—");
