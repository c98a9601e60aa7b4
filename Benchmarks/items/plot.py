#!/usr/bin/env python3
"""Draws the item-browser benchmark as an SVG bar chart: p99 per scenario for each
engine, on a log scale, with the 100 ms target. Reads run.sh's output.

    bash Benchmarks/items/run.sh | tee items.log
    python3 Benchmarks/items/plot.py items.log > Benchmarks/items/pages.svg"""
import html
import math
import re
import sys

engine, results = None, {}
for line in open(sys.argv[1]):
    heading = re.match(r"(\w+): \d+ pairs, p50 / p99 per request:", line)
    if heading:
        engine = heading.group(1)
        continue
    row = re.match(r"\s+(.+?)\s+(\d+) req\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", line)
    if row and engine:
        results.setdefault(row.group(1), {})[engine] = float(row.group(4))

engines = [e for e in ("sqlite", "postgres") if any(e in r for r in results.values())]
colours = {"sqlite": "#1d4ed8", "postgres": "#c2410c"}
names = list(results)
left, top, bar, gap, width = 330, 40, 9, 8, 820
row_height = bar * len(engines) + gap
height = top + row_height * len(names) + 50
lo, hi = 0.5, 1000.0
x = lambda ms: left + (math.log10(max(ms, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (width - left - 20)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="11">',
       f'<rect width="{width}" height="{height}" fill="white"/>',
       f'<text x="{left}" y="16" font-size="13" font-weight="bold">Item browser at 1,000,000 pairs: p99 per request (ms, log scale)</text>']
for ms in (1, 10, 100, 1000):
    out.append(f'<line x1="{x(ms):.1f}" y1="{top - 6}" x2="{x(ms):.1f}" y2="{height - 40}" stroke="{"#dc2626" if ms == 100 else "#ddd"}" stroke-width="{1.5 if ms == 100 else 1}"/>')
    out.append(f'<text x="{x(ms):.1f}" y="{height - 26}" text-anchor="middle">{ms}{" ms target" if ms == 100 else ""}</text>')
for i, name in enumerate(names):
    y = top + i * row_height
    out.append(f'<text x="{left - 8}" y="{y + row_height / 2:.1f}" text-anchor="end" dominant-baseline="middle">{html.escape(name)}</text>')
    for j, e in enumerate(engines):
        ms = results[name].get(e)
        if ms is None:
            continue
        out.append(f'<rect x="{left}" y="{y + j * bar}" width="{x(ms) - left:.1f}" height="{bar - 1}" fill="{colours[e]}"><title>{e}: {ms} ms</title></rect>')
        out.append(f'<text x="{x(ms) + 4:.1f}" y="{y + j * bar + bar - 2}" font-size="9">{ms:g}</text>')
for j, e in enumerate(engines):
    out.append(f'<rect x="{left + j * 120}" y="{height - 16}" width="10" height="10" fill="{colours[e]}"/><text x="{left + j * 120 + 14}" y="{height - 7}">{"SQLite" if e == "sqlite" else "PostgreSQL"}</text>')
out.append("</svg>")
print("\n".join(out))
