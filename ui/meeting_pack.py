"""The meeting pack as a PDF: the child's record and family network, ready to print.

ReportLab, because it is pure Python and makes the PDF offline with nothing else
installed (WeasyPrint needs Pango and other system libraries the app's image does not
otherwise need). Every page carries the OFFICIAL-SENSITIVE marking, the viewer's name
and the date; the family network is drawn from the same drawing as the page
(:mod:`ui.network_layout`), as vector graphics on a landscape page. Text from the data
is escaped before ReportLab's paragraph markup reads it.
"""

from __future__ import annotations

import datetime as dt
import io
from html import escape
from typing import Any

from reportlab.graphics.shapes import Drawing as RLDrawing
from reportlab.graphics.shapes import Line as RLLine
from reportlab.graphics.shapes import Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ui.network_layout import STYLE, Drawing, family_tree
from ui.present import chronology as chrono
from ui.present import record as words
from ui.present.network import warnings as network_warnings
from ui.present.words import day

MARKING = "OFFICIAL-SENSITIVE"
DASH = {"solid": None, "dashed": [5, 3], "dotted": [1.5, 2.5], "dashdot": [6, 3, 1.5, 3]}
_styles = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_styles["BodyText"], fontSize=9, leading=11.5)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8.5, leading=10.5)
HEAD = ParagraphStyle("head", parent=CELL, fontName="Helvetica-Bold")
H1 = ParagraphStyle("h1", parent=_styles["Heading1"], fontSize=17, spaceAfter=4)
H2 = ParagraphStyle("h2", parent=_styles["Heading2"], fontSize=12, spaceBefore=8, spaceAfter=3)
ALERT = ParagraphStyle("alert", parent=BODY, textColor=colors.HexColor("#8a1c1c"))


def _p(text: object, style: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph of plain text: data never becomes ReportLab markup."""
    return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), style)


def _table(rows: list[dict[str, Any]], widths: list[float] | None = None) -> Table:
    columns = list(rows[0])
    data = [[_p(c, HEAD) for c in columns]] + [[_p(r.get(c), CELL) for c in columns] for r in rows]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#adb5bd")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def network_drawing(drawing: Drawing, max_width: float, max_height: float) -> RLDrawing:
    """The network's drawing as ReportLab vector graphics, scaled to fit."""
    scale = min(1.0, max_width / drawing.width, max_height / drawing.height)
    out = RLDrawing(drawing.width * scale, drawing.height * scale)
    flip = drawing.height  # ReportLab's y runs upwards

    def pt(x: float, y: float) -> tuple[float, float]:
        return x * scale, (flip - y) * scale

    for line in drawing.lines:
        for (x1, y1), (x2, y2) in zip(line.points, line.points[1:], strict=False):
            a, b = pt(x1, y1), pt(x2, y2)
            out.add(
                RLLine(
                    *a,
                    *b,
                    strokeColor=colors.HexColor(line.colour),
                    strokeWidth=line.width * scale,
                    strokeDashArray=DASH.get(line.style),
                )
            )
        if line.label:
            i = max(0, len(line.points) // 2 - 1)
            (x1, y1), (x2, y2) = line.points[i], line.points[min(i + 1, len(line.points) - 1)]
            x, y = pt((x1 + x2) / 2, (y1 + y2) / 2 - 4)
            out.add(String(x, y, line.label, fontSize=11 * scale, textAnchor="middle"))
    for b in drawing.boxes:
        fill, stroke = STYLE[b.style]
        x, y = pt(b.x - b.w / 2, b.y + b.h / 2)
        w, h = b.w * scale, b.h * scale
        common = {
            "fillColor": colors.HexColor(fill),
            "strokeColor": colors.HexColor(stroke),
            "strokeWidth": (3 if b.focus else 1.2) * scale,
        }
        if b.shape == "tag":
            d = h / 2
            out.add(
                Polygon(
                    [
                        x + d,
                        y,
                        x + w - d,
                        y,
                        x + w,
                        y + d,
                        x + w - d,
                        y + h,
                        x + d,
                        y + h,
                        x,
                        y + d,
                    ],
                    **common,
                )
            )
        else:
            rx = h / 2 if b.shape == "pill" else 3 * scale
            out.add(Rect(x, y, w, h, rx=rx, ry=rx, **common))
        for i, text in enumerate(b.lines):
            cx, cy = pt(b.x, b.y - b.h / 2 + 7 + 17 * (i + 1) - 3)
            out.add(
                String(
                    cx,
                    cy,
                    text,
                    fontSize=13 * scale,
                    textAnchor="middle",
                    fontName="Helvetica-Bold" if i == 0 else "Helvetica",
                )
            )
    return out


def build(
    pack: dict[str, Any],
    *,
    viewer: str,
    today: dt.date,
    entries: list[dict[str, Any]] | None = None,
) -> bytes:
    """The PDF of a meeting pack (``guard.meeting_pack``), made for ``viewer`` on
    ``today``; ``entries`` is the chronology to print (all of it unless given)."""
    record, network = pack["record"], pack["network"]
    name = words.name(record)
    buffer = io.BytesIO()
    made = f"Made by {viewer} on {day(today)} from Jigsaw. Do not pass on without need."

    def marks(canvas: Any, doc: Any) -> None:
        width, height = doc.pagesize
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 10)
        canvas.setFillColor(colors.HexColor("#8a1c1c"))
        canvas.drawCentredString(width / 2, height - 12 * mm, MARKING)
        canvas.drawCentredString(width / 2, 8 * mm, MARKING)
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.black)
        canvas.drawString(15 * mm, 12.5 * mm, f"{name}: meeting pack. {made}")
        canvas.drawRightString(width - 15 * mm, 12.5 * mm, f"Page {doc.page}")
        canvas.restoreState()

    doc = BaseDocTemplate(
        buffer, pagesize=A4, title=f"Meeting pack: {name}", author=viewer, subject=MARKING
    )
    portrait = Frame(15 * mm, 18 * mm, A4[0] - 30 * mm, A4[1] - 36 * mm, id="portrait")
    wide = landscape(A4)
    across = Frame(15 * mm, 18 * mm, wide[0] - 30 * mm, wide[1] - 36 * mm, id="landscape")
    doc.addPageTemplates(
        [
            PageTemplate("portrait", [portrait], onPage=marks, pagesize=A4),
            PageTemplate("landscape", [across], onPage=marks, pagesize=wide),
        ]
    )
    story: list[Any] = [_p(f"Meeting pack: {name}", H1), _p(made)]
    story += [_p(" · ".join(f"{k}: {v}" for k, v in words.identity(record, today)))]
    if flags := words.flags(record):
        story.append(_p("Involvement: " + ", ".join(flags)))
    for w in record.get("warnings") or []:
        story.append(_p(f"Data quality: {w.get('text')}", ALERT))
    story.append(_p("Home and safety", H2))
    for home in words.homes(record):
        story.append(_p(words.home_line(home)))
        story += [_p(f"Visit safety: {note}", ALERT) for note in home["safety"]]
    for title, rows in words.pack_tables(record, today):
        story += [_p(title, H2), _table(rows)]
    rows = words.chronology_rows(entries if entries is not None else chrono.chronology(record))
    if rows:
        story += [_p("Chronology", H2), _table(rows, [22 * mm, 32 * mm, 96 * mm, 30 * mm])]
    if network:
        network = {**network, "focus": record["person"].get("uid")}
        story += [NextPageTemplate("landscape"), PageBreak(), _p("Family network", H2)]
        story.append(_p("Two steps out from the child, as at " + day(today) + "."))
        for text in network_warnings(network):
            story.append(_p(f"Data quality: {text}", ALERT))
        story += [
            Spacer(1, 4 * mm),
            network_drawing(family_tree(network, today), wide[0] - 30 * mm, wide[1] - 60 * mm),
        ]
    doc.build(story)
    return buffer.getvalue()
