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
