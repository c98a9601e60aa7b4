// Safe Markdown → DOM for model responses and guidelines.
//
// Untrusted text is only ever inserted with createTextNode / textContent, so raw
// HTML in a response (a <script>, an <img onerror=…>) shows as text and is never
// interpreted. Supported: paragraphs, headings, bullet and numbered lists (nested
// by indentation), block quotes, fenced code (monospace, whitespace kept), GFM
// tables, horizontal rules, `inline code`, **strong**, *emphasis*, ~~strikethrough~~,
// and links, shown as text with their URL (never clickable). Text blocks carry
// dir="auto", so right-to-left languages read right to left.

const FENCE = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const TABLE_DELIMITER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function textBlock(tag) {
  const element = document.createElement(tag);
  element.dir = "auto";
  return element;
}

/** Starts a block other than a paragraph. */
function startsBlock(lines, i) {
  const line = lines[i];
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || BULLET.test(line) || NUMBERED.test(line)
    || QUOTE.test(line) || startsTable(lines, i);
}

/** A GFM table: a row with a pipe, then a delimiter row with as many cells. */
function startsTable(lines, i) {
  return i + 1 < lines.length && lines[i].includes("|") && TABLE_DELIMITER.test(lines[i + 1])
    && lines[i + 1].includes("-") && cells(lines[i]).length === cells(lines[i + 1]).length;
}

/** The cells of a table row: split at pipes that are not escaped. */
function cells(row) {
  let text = row.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
  return text.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

/** A closing fence: the same character, at least as long, and nothing else on the line (CommonMark). */
function closesFence(line, marker) {
  const match = line.match(/^\s*(`{3,}|~{3,})\s*$/);
  return match !== null && match[1][0] === marker[0] && match[1].length >= marker.length;
}

/** Renders `text` into `container`, replacing what was there. */
export function renderMarkdown(text, container) {
  container.replaceChildren(...blocks(String(text ?? "")));
}

function blocks(text) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(FENCE);
    if (fence) {
      const marker = fence[1];
      const body = [];
      i += 1;
      while (i < lines.length && !closesFence(lines[i], marker)) body.push(lines[i++]);
      i += 1; // closing fence (or end of text)
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      if (fence[2]) code.dataset.language = fence[2];
      code.textContent = body.join("\n");
      pre.append(code);
      out.push(pre);
      continue;
    }
    if (line.trim() === "") {
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push(document.createElement("hr"));
      i += 1;
      continue;
    }
    if (startsTable(lines, i)) {
      const [table, next] = parseTable(lines, i);
      out.push(table);
      i = next;
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      // Headings inside a panel stay modest: # → h3 … ###### → h6.
      const element = textBlock("h" + Math.min(6, heading[1].length + 2));
      element.className = "md-heading";
      inline(element, heading[2]);
      out.push(element);
      i += 1;
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      const [list, next] = parseList(lines, i);
      out.push(list);
      i = next;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(lines[i++].match(QUOTE)[1]);
      const quote = textBlock("blockquote");
      quote.append(...blocks(quoted.join("\n")));
      out.push(quote);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && lines[i].trim() !== "" && (paragraph.length === 0 || !startsBlock(lines, i))) {
      paragraph.push(lines[i]);
      i += 1;
    }
    const p = textBlock("p");
    inline(p, paragraph.join("\n"));
    out.push(p);
  }
  return out;
}

function indentOf(line) {
  return line.match(/^\s*/)[0].replace(/\t/g, "    ").length;
}

/**
 * A list from line `i`: items at its indentation; a deeper list item starts a
 * list nested in the item before it (up to 8 deep; deeper ones are text); other
 * indented lines continue the item.
 */
const MAX_LIST_DEPTH = 8;

function parseList(lines, i, depth = 0) {
  const indent = indentOf(lines[i]);
  const numbered = !BULLET.test(lines[i]);
  const pattern = numbered ? NUMBERED : BULLET;
  const list = textBlock(numbered ? "ol" : "ul");
  if (numbered) {
    const start = Number(lines[i].match(NUMBERED)[1]);
    if (start !== 1) list.start = start;
  }
  while (i < lines.length && pattern.test(lines[i]) && indentOf(lines[i]) === indent) {
    const match = lines[i].match(pattern);
    let content = numbered ? match[2] : match[1];
    const nested = [];
    i += 1;
    while (i < lines.length && lines[i].trim() !== "" && indentOf(lines[i]) > indent) {
      if ((BULLET.test(lines[i]) || NUMBERED.test(lines[i])) && depth < MAX_LIST_DEPTH) {
        const [sublist, next] = parseList(lines, i, depth + 1);
        nested.push(sublist);
        i = next;
      } else if (nested.length === 0) {
        content += "\n" + lines[i].trim();
        i += 1;
      } else {
        break;
      }
    }
    // The list carries dir="auto" for its items: an item with its own would hide
    // its text from the list's direction (dir=auto skips such descendants).
    const item = document.createElement("li");
    inline(item, content);
    item.append(...nested);
    list.append(item);
  }
  return [list, i];
}

/** A GFM table from line `i`; wide tables scroll inside their own box. */
function parseTable(lines, i) {
  const header = cells(lines[i]);
  const alignments = cells(lines[i + 1]).map((cell) =>
    cell.startsWith(":") && cell.endsWith(":") ? "align-center" : cell.endsWith(":") ? "align-right" : "");
  const table = document.createElement("table");
  table.className = "md-table";
  const head = document.createElement("thead");
  head.append(row(header, "th", alignments));
  const body = document.createElement("tbody");
  i += 2;
  while (i < lines.length && lines[i].trim() !== "" && lines[i].includes("|") && !FENCE.test(lines[i])) {
    const values = cells(lines[i]);
    // Missing cells are empty. GFM drops extra ones; we keep them, so nothing a
    // response wrote is hidden from the rater.
    const padded = values.length >= header.length ? values : [...values, ...Array(header.length - values.length).fill("")];
    body.append(row(padded, "td", alignments));
    i += 1;
  }
  table.append(head, body);
  const box = document.createElement("div");
  box.className = "md-table-box";
  box.append(table);
  return [box, i];
}

function row(values, tag, alignments) {
  const tr = document.createElement("tr");
  values.forEach((value, column) => {
    const cell = textBlock(tag);
    if (alignments[column]) cell.className = alignments[column];
    inline(cell, value);
    tr.append(cell);
  });
  return tr;
}

// Underscores only count at word boundaries (CommonMark): `window.__pwned` and
// snake_case stay as they are.
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+?)\*\*|(?<![\w])__([^_]+?)__(?![\w])|\*([^*\s][^*]*?)\*|(?<![\w])_([^_\s][^_]*?)_(?![\w])|\[([^\]\n]+)\]\(([^)\s]+)(?:\s+"([^"]*)")?\)|~~([^~\n]+?)~~/g;

/** Appends `text` to `parent` with inline formatting, as text nodes only. */
function inline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(document.createTextNode(text.slice(last, match.index)));
    let element;
    if (match[1]) {
      element = document.createElement("code");
      element.textContent = match[2];
    } else if (match[3] || match[4]) {
      element = document.createElement("strong");
      element.textContent = match[3] || match[4];
    } else if (match[5] || match[6]) {
      element = document.createElement("em");
      element.textContent = match[5] || match[6];
    } else if (match[10]) {
      element = document.createElement("del");
      element.textContent = match[10];
    } else {
      element = document.createElement("span");
      element.className = "md-link";
      // The title too: nothing an untrusted response wrote is hidden from the rater.
      element.textContent = `${match[7]} (${match[8]}${match[9] === undefined ? "" : ` "${match[9]}"`})`;
    }
    parent.append(element);
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}
