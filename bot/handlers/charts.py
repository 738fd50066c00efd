"""Charts drawn by the server as SVG: accessible (a title, a description, and the table beside them). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True, slots=True)
class Series:
    """One row of bars: its label, its CSS class and a value per category."""

    label: str
    css: str
    values: tuple[int, ...]


def bar_chart(chart_id: str, title: str, description: str, categories: list[str], series: list[Series],
              width: int = 640, height: int = 220) -> str:
    """Grouped vertical bars, one group per category (e.g. per month), with a legend; direction-neutral."""
    top, bottom, left, right = 16, 40, 36, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(value for one in series for value in one.values)])
    step = plot_w / max(len(categories), 1)
    bar_w = max(step * 0.8 / max(len(series), 1), 1.0)
    parts = [(f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg" direction="ltr">'),
             f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(description)}</desc>']
    for tick in (0, peak // 2, peak):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    label_every = max(1, len(categories) // 8)
    for i, category in enumerate(categories):
        x0 = left + step * i + step * 0.1
        for j, one in enumerate(series):
            value = one.values[i] if i < len(one.values) else 0
            h = plot_h * value / peak
            parts.append(f'<rect class="{one.css}" x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(one.label)}, {escape(category)}: '
                         f'{value}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text class="tick" x="{left + step * (i + 0.5):.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{escape(category)}</text>')
    for j, one in enumerate(series):
        x = left + j * 160
        parts.append(f'<rect class="{one.css}" x="{x}" y="{height - 14}" width="12" height="12"/>'
                     f'<text class="legend" x="{x + 16}" y="{height - 3}">{escape(one.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(chart_id: str, title: str, rows: list[tuple[str, int]], width: int = 640) -> str:
    """Horizontal bars, one per labelled row (e.g. refusals by legal ground); the labels sit in the table."""
    row_h = 22
    height = max(row_h * len(rows), row_h)
    peak = max([1, *(value for _, value in rows)])
    parts = [(f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="{chart_id}-t" xmlns="http://www.w3.org/2000/svg">'),
             f'<title id="{chart_id}-t">{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        w = (width - 60) * value / peak
        parts.append(f'<rect class="bar-refused" x="0" y="{i * row_h + 3}" width="{w:.1f}" height="{row_h - 6}">'
                     f'<title>{escape(label)}: {value}</title></rect>'
                     f'<text class="tick" x="{w + 6:.1f}" y="{i * row_h + 16}">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)
