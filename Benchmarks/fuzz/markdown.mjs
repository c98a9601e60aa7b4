// Mutation fuzzer for Public/js/markdown.js under Node, with a strict fake DOM
// (libFuzzer cannot run JavaScript). Properties checked on every input:
//   - rendering never throws and takes < 250 ms at best of up to four timings (no catastrophic regex backtracking);
//   - only the expected elements are created, and only textContent, className,
//     dataset.language, start and dir are ever set (no innerHTML, no attributes, no href);
//   - every "<" of the input reaches the page as text (raw HTML is never interpreted).
//     node Benchmarks/fuzz/markdown.mjs [RUNS] [SEED]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const runs = Number(process.argv[2] ?? 1_000_000);
let state = BigInt(process.argv[3] ?? 1);
function random() { // SplitMix64
  state = (state + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
  return Number((z ^ (z >> 31n)) >> 11n) / 2 ** 53;
}
const pick = (list) => list[Math.floor(random() * list.length)];

const ALLOWED = new Set(["p", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code", "strong", "em", "span",
  "del", "hr", "div", "table", "thead", "tbody", "tr", "th", "td"]);
const SETTABLE = new Set(["textContent", "className", "start", "dir"]);
class Text { constructor(text) { this.text = String(text); } }
class Element {
  constructor(tag) {
    if (!ALLOWED.has(tag)) throw new Error(`unexpected element <${tag}>`);
    this.tag = tag;
    this.children = [];
    this.dataset = new Proxy({}, {
      set(target, key, value) {
        if (key !== "language") throw new Error(`unexpected data-${String(key)}`);
        target[key] = value;
        return true;
      },
    });
    return new Proxy(this, {
      set(target, key, value) {
        if (key === "children") { target.children = value; return true; } // the fake's own bookkeeping
        if (!SETTABLE.has(key)) throw new Error(`unexpected property ${String(key)} on <${target.tag}>`);
        if (key === "textContent") target.children = [new Text(value)];
        else target[key] = value;
        return true;
      },
    });
  }
  append(...nodes) { for (const node of nodes) { if (!(node instanceof Element || node instanceof Text)) throw new Error("appended a non-node"); this.children.push(node); } }
  replaceChildren(...nodes) { this.children = []; this.append(...nodes); }
  setAttribute(name) { throw new Error(`setAttribute(${name})`); }
}
globalThis.document = { createElement: (tag) => new Element(tag), createTextNode: (text) => new Text(text) };
const { renderMarkdown } = await import(join(here, "../../Public/js/markdown.js"));

function text(node) { return node instanceof Text ? node.text : node.children.map(text).join(""); }

const seedDirectory = join(here, "corpus/markdown");
const committed = (await import("node:fs")).readdirSync(seedDirectory).map((name) => readFileSync(join(seedDirectory, name), "utf8"));
const seeds = [...committed,
  "# Title\n\nSome **bold** and *em* and `code` and [a link](https://x.y \"t\").\n\n- one\n- two\n  continued\n\n1. a\n2. b\n",
  "```js\nlet a = '<script>alert(1)</script>';\n```\n> quoted <b>bold</b>\n> more",
  "<script>window.__pwned = 1</script><img src=x onerror=\"alert(1)\"> plain __init__ snake_case **a**b* _c_ `` ` `` \\* ***",
  "~~~\nunclosed fence\n<svg onload=alert(1)>",
  "3) three\n10. ten\n* [x](y) [](z) [a](b c) ![img](http://e/f.png)\n\n#######\n## \n>\n> > nested",
  "| a | b <i> |\n|:--|--:|\n| 1 \\| one | ~~two~~ |\n| <b> |\n\n---\n- top\n  - nested <x>\n    1. deeper\n  - again\n***\nمرحبا بالعالم",
];
const tokens = ["|", "|---|", ":--:", "~~", "---", "***", "    - ", "<", ">", "<script>", "</p>", "&lt;", "`", "```", "~~~", "*", "**", "_", "__", "[", "](", ")", "\n", "\n\n", "# ", "- ", "1. ",
  "> ", "  ", "\t", "\r\n", "\u2028", "é", "😀", "\u0000", "javascript:alert(1)", "\"", "'", "\\", "http://a/b", "<img onerror=x>"];

function mutate(input) {
  let out = input;
  const steps = 1 + Math.floor(random() * 6);
  for (let s = 0; s < steps; s++) {
    const at = Math.floor(random() * (out.length + 1));
    switch (Math.floor(random() * 5)) {
      case 0: out = out.slice(0, at) + pick(tokens) + out.slice(at); break;
      case 1: out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 8)); break;
      case 2: out = out.slice(0, at) + String.fromCodePoint(Math.floor(random() * 0x2ffff)) + out.slice(at); break;
      case 3: { const from = Math.floor(random() * out.length); out = out.slice(0, at) + out.slice(from, from + 1 + Math.floor(random() * 40)) + out.slice(at); break; }
      default: out = out.slice(0, at) + pick(tokens).repeat(1 + Math.floor(random() * 30)) + out.slice(at);
    }
  }
  return out.slice(0, 4096);
}

// Every committed input (seeds and past findings) is checked as it is before mutating.
const corpus = [...seeds];
const queue = [...committed];
let slowest = 0;
const started = Date.now();
for (let run = 1; run <= runs; run++) {
  const input = queue.length > 0 ? queue.shift() : mutate(pick(corpus));
  const container = new Element("p");
  const before = performance.now();
  try {
    renderMarkdown(input, container);
  } catch (error) {
    console.error(`run ${run}: ${error.message}\ninput: ${JSON.stringify(input)}`);
    process.exit(1);
  }
  let took = performance.now() - before;
  // A slow render is timed again: backtracking is slow every time, a stall of a
  // busy machine (another process, a collection) is not.
  for (let again = 0; again < 3 && took > 250; again++) {
    const start = performance.now();
    renderMarkdown(input, new Element("p"));
    took = Math.min(took, performance.now() - start);
  }
  slowest = Math.max(slowest, took);
  if (took > 250) {
    console.error(`run ${run}: ${took.toFixed(0)} ms for ${input.length} characters (regex backtracking?)\ninput: ${JSON.stringify(input)}`);
    process.exit(1);
  }
  const rendered = text(container);
  const count = (value) => value.split("<").length - 1;
  if (count(rendered) !== count(input.replace(/\r\n?/g, "\n"))) {
    console.error(`run ${run}: ${count(input)} "<" in, ${count(rendered)} out\ninput: ${JSON.stringify(input)}`);
    process.exit(1);
  }
  if (corpus.length < 2000 && random() < 0.01) corpus.push(input);
}
const seconds = (Date.now() - started) / 1000;
console.log(`markdown: ${runs} executions in ${seconds.toFixed(0)} s (${Math.round(runs / seconds)}/s), slowest render ${slowest.toFixed(1)} ms: ok`);
