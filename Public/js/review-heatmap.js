// The review page's Cohen's kappa heatmap: an SVG built with DOM calls (no
// markup from data), every name and value written out, with a legend.

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function fixed(value, digits = 3) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";
}

// The kappa heatmap: margins sized to the longest name (so none is clipped), the
// value written in every cell, and a legend of the colour scale.
export function drawHeatmap(pairs) {
  const container = $("heatmap");
  container.replaceChildren();
  if (pairs.length === 0) {
    container.textContent = "No two raters share 10 pairs yet.";
    return;
  }
  const names = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort();
  const size = 40;
  const charWidth = 7; // 12px sans-serif, generously
  const longest = Math.max(...names.map((name) => name.length));
  const left = 16 + longest * charWidth;
  const top = 16 + Math.ceil(longest * charWidth * Math.sin(Math.PI / 3));
  const legendHeight = 56;
  const width = Math.max(left + names.length * size + 8, 320);
  const height = top + names.length * size + legendHeight;
  const svg = svgElement("svg", {
    width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "Cohen's kappa for each pair of raters, with the value in each cell",
  });
  const index = new Map(names.map((name, i) => [name, i]));
  names.forEach((name, i) => {
    svg.append(svgElement("text", { x: left - 6, y: top + i * size + size * 0.6, "text-anchor": "end", class: "heat-label" }, name));
    const x = left + i * size + size * 0.55;
    svg.append(svgElement("text", { transform: `translate(${x}, ${top - 6}) rotate(-60)`, class: "heat-label" }, name));
    svg.append(svgElement("text", { x: left + i * size + size / 2 - 1, y: top + i * size + size * 0.6, "text-anchor": "middle", class: "heat-self" }, "—"));
  });
  for (const pair of pairs) {
    for (const [a, b] of [[pair.a, pair.b], [pair.b, pair.a]]) {
      const x = left + index.get(a) * size;
      const y = top + index.get(b) * size;
      const shade = heatShade(pair.kappa);
      const rect = svgElement("rect", { x, y, width: size - 2, height: size - 2, class: "heat-cell", "fill-opacity": shade.toFixed(2) });
      rect.append(svgElement("title", {}, `${a} × ${b}: κ = ${fixed(pair.kappa)} over ${pair.shared} pairs`));
      svg.append(rect);
      const value = svgElement("text", {
        x: x + size / 2 - 1, y: y + size * 0.6, "text-anchor": "middle", class: shade > 0.55 ? "heat-value dark" : "heat-value",
      }, fixed(pair.kappa, 2));
      svg.append(value);
    }
  }
  // Legend: the colour for κ ≤ 0 through 1.
  const legendTop = top + names.length * size + 18;
  svg.append(svgElement("text", { x: left, y: legendTop - 4, class: "heat-label" }, "Cohen's κ:"));
  const steps = 10;
  const stepWidth = Math.min(24, (width - left - 80) / steps);
  for (let step = 0; step <= steps; step += 1) {
    svg.append(svgElement("rect", {
      x: left + 70 + step * stepWidth, y: legendTop - 14, width: stepWidth, height: 14, class: "heat-cell",
      "fill-opacity": heatShade(step / steps).toFixed(2),
    }));
  }
  for (const [value, text] of [[0, "≤ 0"], [0.5, "0.5"], [1, "1"]]) {
    svg.append(svgElement("text", {
      x: left + 70 + value * steps * stepWidth + stepWidth / 2, y: legendTop + 14, "text-anchor": "middle", class: "heat-label",
    }, text));
  }
  container.append(svg);
}

function heatShade(kappa) {
  const clamped = typeof kappa === "number" ? Math.max(0, Math.min(1, kappa)) : 0;
  return 0.08 + 0.92 * clamped;
}

function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

