// Safe Markdown → DOM for model responses and guidelines.
//
// Untrusted text is only ever inserted with createTextNode / textContent, so raw
// HTML in a response (a <script>, an <img onerror=…>) shows as text and is never
// interpreted. Supported: paragraphs, headings, bullet and numbered lists, block
// quotes, fenced code (monospace, whitespace kept), `inline code`, **strong**,
// *emphasis*, and links, shown as text with their URL (never clickable).

const FENCE = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;

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
    const heading = line.match(HEADING);
    if (heading) {
      // Headings inside a panel stay modest: # → h3 … ###### → h6.
      const element = document.createElement("h" + Math.min(6, heading[1].length + 2));
      element.className = "md-heading";
      inline(element, heading[2]);
      out.push(element);
      i += 1;
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      const numbered = !BULLET.test(line);
      const list = document.createElement(numbered ? "ol" : "ul");
      const pattern = numbered ? NUMBERED : BULLET;
      if (numbered) {
        const start = Number(line.match(NUMBERED)[1]);
        if (start !== 1) list.start = start;
      }
      while (i < lines.length && pattern.test(lines[i])) {
        const match = lines[i].match(pattern);
        let content = numbered ? match[2] : match[1];
        i += 1;
        // Indented continuation lines belong to the item.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !BULLET.test(lines[i]) && !NUMBERED.test(lines[i])) {
          content += "\n" + lines[i].trim();
          i += 1;
        }
        const item = document.createElement("li");
        inline(item, content);
        list.append(item);
      }
      out.push(list);
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(lines[i++].match(QUOTE)[1]);
      const quote = document.createElement("blockquote");
      quote.append(...blocks(quoted.join("\n")));
      out.push(quote);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && lines[i].trim() !== "" && !FENCE.test(lines[i]) && !HEADING.test(lines[i])
      && !BULLET.test(lines[i]) && !NUMBERED.test(lines[i]) && !QUOTE.test(lines[i])) {
      paragraph.push(lines[i]);
      i += 1;
    }
    const p = document.createElement("p");
    inline(p, paragraph.join("\n"));
    out.push(p);
  }
  return out;
}

// Underscores only count at word boundaries (CommonMark): `window.__pwned` and
// snake_case stay as they are.
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+?)\*\*|(?<![\w])__([^_]+?)__(?![\w])|\*([^*\s][^*]*?)\*|(?<![\w])_([^_\s][^_]*?)_(?![\w])|\[([^\]\n]+)\]\(([^)\s]+)(?:\s+"([^"]*)")?\)/g;

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
