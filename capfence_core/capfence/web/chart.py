"""Decisions over time as a server-rendered SVG stacked bar chart (no JavaScript, no vendored library).

Every label is escaped here; the SVG is returned as :class:`markupsafe.Markup`
so the template inserts it as markup. Each bar has a ``<title>`` (the
browser's tooltip) with its exact counts.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from capfence.call.decision import ACTIONS

COLORS = {"allow": "#2e7d32", "warn": "#f9a825", "deny": "#c62828", "require_approval": "#6a1b9a"}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 900, 220, 48, 28, 10


def stacked_bars(series: list[tuple[str, dict[str, int]]]) -> Markup:
    """One bar per bucket, stacked by decision in :data:`~capfence.call.decision.ACTIONS` order."""
    if not series:
        return Markup('<p class="muted">No decisions in this window.</p>')
    peak = max(sum(counts.values()) for _, counts in series) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / len(series)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Decisions over time by action">'
    ]
    parts += _axis(peak, plot_h)
    for i, (label, counts) in enumerate(series):
        parts.append(_bar(i, label, counts, peak, step, plot_h))
    parts += _labels(series, step)
    parts.append("</svg>")
    return Markup("".join(parts))


def _axis(peak: int, plot_h: float) -> list[str]:
    out = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{round(peak * fraction)}</text>'
        )
    return out


def _bar(i: int, label: str, counts: dict[str, int], peak: int, step: float, plot_h: float) -> str:
    x = LEFT + i * step + step * 0.1
    width = max(step * 0.8, 1.0)
    y = TOP + plot_h
    title = escape(f"{label}: " + ", ".join(f"{action} {counts.get(action, 0)}" for action in ACTIONS))
    rects = []
    for action in ACTIONS:
        height = plot_h * counts.get(action, 0) / peak
        if height <= 0:
            continue
        y -= height
        rects.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{COLORS[action]}"/>'
        )
    return f"<g><title>{title}</title>{''.join(rects)}</g>"


def _labels(series: list[tuple[str, dict[str, int]]], step: float) -> list[str]:
    every = max(1, len(series) // 8)
    out = []
    for i, (label, _) in enumerate(series):
        if i % every == 0:
            x = LEFT + i * step + step / 2
            text = escape(label.replace("T", " ") + {15: "0", 13: ":00"}.get(len(label), ""))
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" class="tick">{text}</text>')
    return out
