"""The family network drawn as SVG: text the browser draws at its size, nothing fetched.

The drawing (:mod:`ui.network_layout`) is made on the server; this module writes it as
one SVG element whose people are focusable buttons (``data-uid``): the page's
component (``ui.app.network_view``) turns a click or Enter on one into opening their
record. Every text is escaped here, so no value from the data becomes markup.
"""

from __future__ import annotations

import re
from html import escape

from ui.network_layout import FONT, LEGEND, LINE_STYLES, STYLE, Box, Drawing, Line

DASH = {"solid": "", "dashed": "7 5", "dotted": "2 4", "dashdot": "9 4 2 4"}


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _box(b: Box) -> str:
    fill, stroke = STYLE[b.style]
    x, y, w, h = b.x - b.w / 2, b.y - b.h / 2, b.w, b.h
    width = 3.5 if b.focus else 1.5
    if b.shape == "tag":  # a case: a box with pointed ends
        d = h / 2
        shape = (
            f'<polygon points="{x + d},{y} {x + w - d},{y} {x + w},{y + d} {x + w - d},{y + h} '
            f'{x + d},{y + h} {x},{y + d}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width}"/>'
        )
    else:
        rx = h / 2 if b.shape == "pill" else 3
        shape = (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx:.1f}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>'
        )
    texts = []
    for i, line in enumerate(b.lines):
        weight = ' font-weight="700"' if i == 0 else ""
        ty = y + 7 + 17 * (i + 1) - 3
        texts.append(
            f'<text x="{b.x:.1f}" y="{ty:.1f}" text-anchor="middle"{weight}>{escape(line)}</text>'
        )
    title = escape(" · ".join(b.lines))
    if b.opens:
        label = _attr(f"Open the record of {b.lines[0]} ({' · '.join(b.lines[1:])})")
        return (
            f'<g class="jn-open" data-uid="{_attr(b.uid)}" tabindex="0" role="button" '
            f'aria-label="{label}"><title>{title}</title>{shape}{"".join(texts)}</g>'
        )
    return f"<g><title>{title}</title>{shape}{''.join(texts)}</g>"


def _line(line: Line) -> str:
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in line.points)
    dash = f' stroke-dasharray="{DASH[line.style]}"' if DASH.get(line.style) else ""
    out = (
        f'<polyline points="{points}" fill="none" stroke="{line.colour}" '
        f'stroke-width="{line.width}"{dash}/>'
    )
    if line.label:
        i = max(0, len(line.points) // 2 - 1)
        (x1, y1), (x2, y2) = line.points[i], line.points[min(i + 1, len(line.points) - 1)]
        out += (
            f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 4:.1f}" text-anchor="middle" '
            f'class="jn-link">{escape(line.label)}</text>'
        )
    return out


def svg(drawing: Drawing, *, title: str = "Family network") -> str:
    """The drawing as an SVG element, drawn at its natural size (the page scrolls)."""
    body = "".join(_line(line) for line in drawing.lines)
    body += "".join(_box(b) for b in drawing.boxes)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{drawing.width:.0f}" '
        f'height="{drawing.height:.0f}" viewBox="0 0 {drawing.width:.0f} {drawing.height:.0f}" '
        f'font-family="sans-serif" font-size="{FONT}" fill="#1b1b1b" role="group" '
        f'aria-label="{_attr(title)}"><title>{escape(title)}</title>{body}</svg>'
    )


def legend() -> list[tuple[str, str, str]]:
    """(name, fill, border) of each kind of box, then how parent links are drawn."""
    return [(name, *STYLE[key]) for key, name in LEGEND]


def legend_html() -> str:
    """The legend as small swatches that wrap with the page: box colours, then how
    parent links are drawn."""
    items = [
        f'<span class="jn-key"><svg width="18" height="14" aria-hidden="true"><rect x="1" y="1" '
        f'width="16" height="12" rx="3" fill="{fill}" stroke="{stroke}"/></svg> '
        f"{escape(name)}</span>"
        for name, fill, stroke in legend()
    ]
    for style, name in LINE_STYLES:
        dash = f' stroke-dasharray="{DASH[style]}"' if DASH[style] else ""
        items.append(
            f'<span class="jn-key"><svg width="30" height="14" aria-hidden="true"><line x1="1" '
            f'y1="7" x2="29" y2="7" stroke="#343a40" stroke-width="2"{dash}/></svg> '
            f"{escape(name)}</span>"
        )
    return (
        '<div class="jn-legend" role="list" aria-label="Legend" style="display:flex;'
        'flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem;color:#111">'
        + "".join(items).replace('class="jn-key"', 'class="jn-key" role="listitem"')
        + "</div>"
    )


def external_urls(page: str) -> set[str]:
    """Scripts, styles, fonts or images the markup would fetch from elsewhere (none)."""
    found = re.findall(
        r"""<(?:script|link|img|image|use)[^>]+(?:src|href)=["'](https?://[^"']+)""", page
    )
    found += re.findall(r"""@import\s+url\(["']?(https?://[^"')]+)""", page)
    return set(found)
