// Word-level differences between two texts, for near-identical responses: the
// longest common subsequence of their tokens (words and the spaces between
// them); what is not in it is a difference. Quadratic, so long or very different
// texts are refused (null) rather than freezing the page.

const MAX_CELLS = 4_000_000;

/** Splits into words, single punctuation marks and runs of whitespace, keeping every character. */
export function tokens(text) {
  return String(text).match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

/**
 * `{left, right}`: each text as a list of `{text, changed}` runs, or null when
 * the texts are too long to compare here.
 */
export function wordDiff(leftText, rightText) {
  const a = tokens(leftText);
  const b = tokens(rightText);
  // Common head and tail first: near-identical texts leave a small middle.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const middleA = a.slice(head, a.length - tail);
  const middleB = b.slice(head, b.length - tail);
  const n = middleA.length;
  const m = middleB.length;
  if ((n + 1) * (m + 1) > MAX_CELLS) return null;
  // lengths[i][j]: LCS of middleA[i..] and middleB[j..], in one flat array.
  const width = m + 1;
  const lengths = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lengths[i * width + j] = middleA[i] === middleB[j]
        ? lengths[(i + 1) * width + j + 1] + 1
        : Math.max(lengths[(i + 1) * width + j], lengths[i * width + j + 1]);
    }
  }
  const left = a.slice(0, head).map((text) => ({ text, changed: false }));
  const right = b.slice(0, head).map((text) => ({ text, changed: false }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && middleA[i] === middleB[j]) {
      left.push({ text: middleA[i++], changed: false });
      right.push({ text: middleB[j++], changed: false });
    } else if (j >= m || (i < n && lengths[(i + 1) * width + j] >= lengths[i * width + j + 1])) {
      left.push({ text: middleA[i++], changed: true });
    } else {
      right.push({ text: middleB[j++], changed: true });
    }
  }
  for (const text of a.slice(a.length - tail)) left.push({ text, changed: false });
  for (const text of b.slice(b.length - tail)) right.push({ text, changed: false });
  return { left: merge(left), right: merge(right) };
}

/** Joins neighbouring runs of the same kind; whitespace between two changes counts as changed. */
function merge(runs) {
  const out = [];
  for (const run of runs) {
    const last = out[out.length - 1];
    if (last && last.changed === run.changed) last.text += run.text;
    else out.push({ ...run });
  }
  return out;
}

/** Renders runs into `container` as text, differences in <mark>. */
export function renderDiff(runs, container) {
  const block = document.createElement("p");
  block.className = "diff-view";
  block.dir = "auto";
  for (const run of runs) {
    if (run.changed) {
      const mark = document.createElement("mark");
      mark.className = "diff";
      mark.textContent = run.text;
      block.append(mark);
    } else {
      block.append(document.createTextNode(run.text));
    }
  }
  container.replaceChildren(block);
}
