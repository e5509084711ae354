"""Charts drawn on the server as SVG: readable without JavaScript, and when printed."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

COLOURS = {"met": "#1b7f3b", "on_track": "#2f6db3", "behind": "#b3261e", None: "#5f6b7a"}


def bars(rows: list[tuple[str, float, float | None, str | None]], title: str, width: int = 560) -> Markup:
    """Horizontal bars, one per row: (label, value, target or None, status); the target drawn as a tick."""
    if not rows:
        return Markup("")
    label_w, bar_w, row_h = 180, width - 180 - 70, 26
    top = max([max(v, t or 0) for _, v, t, _ in rows] + [1])
    height = row_h * len(rows) + 8
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" class="chart"><title>{escape(title)}</title>'
    ]
    for i, (name, value, target, status) in enumerate(rows):
        y = 4 + i * row_h
        w = int(bar_w * value / top)
        parts.append(
            f'<text x="0" y="{y + 16}" font-size="13">{escape(name[:28])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="16" fill="#e8ecf1"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="16" fill="{COLOURS.get(status, "#5f6b7a")}"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 16}" font-size="13">{_number(value)}'
            f"{'/' + _number(target) if target is not None else ''}</text>"
        )
        if target:
            x = label_w + int(bar_w * target / top)
            parts.append(f'<line x1="{x}" x2="{x}" y1="{y}" y2="{y + 22}" stroke="#222" stroke-width="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def gauge(ratio: float | None, target: float | None, title: str, width: int = 320) -> Markup:
    """One ratio as a bar from 0 to 100 %, the target as a tick."""
    value = 0.0 if ratio is None else max(0.0, min(1.0, ratio))
    status = None if target is None else ("met" if ratio is not None and ratio >= target else "behind")
    bar_w = width - 60
    x = int(bar_w * (target or 0))
    tick = "" if target is None else f'<line x1="{x}" x2="{x}" y1="0" y2="28" stroke="#222" stroke-width="2"/>'
    shown = "–" if ratio is None else f"{ratio * 100:.1f} %"
    return Markup(
        f'<svg role="img" aria-label="{escape(title)}: {shown}" viewBox="0 0 {width} 30" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" class="chart"><title>{escape(title)}</title>'
        f'<rect x="0" y="6" width="{bar_w}" height="16" fill="#e8ecf1"/>'
        f'<rect x="0" y="6" width="{int(bar_w * value)}" height="16" fill="{COLOURS[status]}"/>{tick}'
        f'<text x="{bar_w + 6}" y="19" font-size="13">{shown}</text></svg>'
    )


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
