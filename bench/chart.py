#!/usr/bin/env python3
"""bench/chart.py — an SVG bar chart of bench/run.sh's matmul table: GFLOP/s of tilec and
OpenBLAS per shape, one group per thread count, the ratio printed above each pair.

    python3 bench/chart.py RESULTS.txt OUT.svg

Only Python's standard library: the chart is written as SVG text.
"""
import re
import sys
from xml.sax.saxutils import escape

LINE = re.compile(r"^(\S+)\t(\d+x\d+x\d+)\ttilec ([\d.]+) GFLOP/s\topenblas ([\d.]+) GFLOP/s\tratio ([\d.]+)")


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: chart.py RESULTS.txt OUT.svg\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        lines = f.read().splitlines()
    rows = [m.groups() for m in map(LINE.match, lines) if m]
    if not rows:
        sys.stderr.write(f"{argv[1]}: no matmul result lines\n")
        return 1
    title = escape(lines[0]) if lines else "matmul"
    machine = escape(lines[1]) if len(lines) > 1 else ""
    top = max(max(float(r[2]), float(r[3])) for r in rows)
    bar, gap, group_gap = 18, 6, 28
    left, chart_h, base_y = 70, 300, 360
    width = max(760, left + len(rows) * (2 * bar + gap + group_gap) + 40)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="470" font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="20" font-size="13" font-weight="bold">{title}</text>',
        f'<text x="{left}" y="38">{machine}</text>',
        f'<rect x="{width - 200}" y="48" width="12" height="12" fill="#d9541e"/><text x="{width - 184}" y="58">tilec</text>',
        f'<rect x="{width - 130}" y="48" width="12" height="12" fill="#4a79b5"/><text x="{width - 114}" y="58">OpenBLAS</text>',
    ]
    step = 10 ** len(str(int(top))) / 10
    while top / step > 8:
        step *= 2
    y = 0.0
    while y <= top * 1.05:
        py = base_y - chart_h * y / top
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{py:.1f}" y2="{py:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">{y:g}</text>')
        y += step
    out.append(f'<text x="16" y="{base_y - chart_h / 2}" transform="rotate(-90 16 {base_y - chart_h / 2})" '
               'text-anchor="middle">GFLOP/s</text>')
    x = left + 12
    for threads, shape, tilec, blas, ratio in rows:
        for i, (v, color) in enumerate(((float(tilec), "#d9541e"), (float(blas), "#4a79b5"))):
            h = chart_h * v / top
            out.append(f'<rect x="{x + i * (bar + 2)}" y="{base_y - h:.1f}" width="{bar}" height="{h:.1f}" '
                       f'fill="{color}"><title>{v:.1f} GFLOP/s</title></rect>')
        peak = chart_h * max(float(tilec), float(blas)) / top
        cx = x + bar + 1
        out.append(f'<text x="{cx}" y="{base_y - peak - 5:.1f}" text-anchor="middle">{float(ratio):.2f}</text>')
        out.append(f'<text x="{cx}" y="{base_y + 14}" text-anchor="end" '
                   f'transform="rotate(-40 {cx} {base_y + 14})">{escape(shape)}, {escape(threads)}T</text>')
        x += 2 * bar + gap + group_gap
    out.append(f'<text x="{left}" y="460">ratio = OpenBLAS time / tilec time (above 1: tilec faster); T = threads</text>')
    out.append("</svg>")
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
