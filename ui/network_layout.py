"""Where each node of the family network goes, as one drawing the page (SVG) and the
meeting pack (PDF) both draw.

Two layouts: a family tree (genogram style: generations top to bottom, partners side
by side joined by a line, children hanging from their parents' line, step, foster and
adoptive links drawn apart from birth ones, so half and step relations show), with
cases, professionals and places in rows beneath; and a web (networkx's spring layout)
for networks whose shape is not a family. Sizes are in points of a canvas as wide as
the network needs: labels keep their size however many steps are shown.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from ui.present.network import link_words, node_lines, relations

FONT = 13.0  # label size (px on the page, pt in the PDF)
CHAR = 7.0  # average width of a character at that size
ROW = 118.0  # distance between rows
GAP = 26.0  # between boxes in a row
MARGIN = 30.0
# fill, border: dark text on light fills (AA contrast); the focus child is drawn bolder
STYLE = {
    "focus": ("#ffd8a8", "#a33a00"),
    "child": ("#ffe8cc", "#b54708"),
    "adult": ("#dbe4ff", "#364fc7"),
    "Case": ("#ffdeeb", "#a61e4d"),
    "Professional": ("#e9ecef", "#495057"),
    "Address": ("#d3f9d8", "#2b8a3e"),
    "Family": ("#e5dbff", "#5f3dc4"),
    "School": ("#fff3bf", "#8a5a00"),
}
LEGEND = (
    ("focus", "This child"),
    ("child", "Child"),
    ("adult", "Adult"),
    ("Case", "Case"),
    ("Professional", "Professional"),
    ("Address", "Home"),
    ("Family", "Family group"),
    ("School", "School"),
)
# how a parent link is drawn, by its kind
PARENT_STYLE = {
    "birth": "solid",
    "parent": "solid",
    "adoptive": "dashdot",
    "step": "dashed",
    "foster": "dotted",
    "guardian": "dotted",
}
COUPLE_KINDS = ("birth", "parent", "adoptive", "step")
LINE_STYLES = (
    ("solid", "Birth parent"),
    ("dashdot", "Adoptive parent"),
    ("dashed", "Step-parent"),
    ("dotted", "Foster carer or guardian"),
)


@dataclass
class Box:
    uid: str
    style: str  # a key of STYLE
    x: float  # centre
    y: float
    lines: list[str]
    shape: str = "rect"  # rect (male or not known), pill (female), diamond-ish "tag"
    focus: bool = False
    opens: bool = False  # a person: clicking opens their record

    @property
    def w(self) -> float:
        longest = max((len(line) for line in self.lines), default=4)
        return min(max(longest * CHAR + 24, 96), 300)

    @property
    def h(self) -> float:
        return 14 + 17 * len(self.lines)


@dataclass
class Line:
    points: list[tuple[float, float]]
    style: str = "solid"  # solid, dashed, dotted, dashdot
    colour: str = "#495057"
    width: float = 1.6
    label: str = ""


@dataclass
class Drawing:
    width: float
    height: float
    boxes: list[Box] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


def _clip(text: str, chars: int = 40) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _boxes(network: dict[str, Any], today: dt.date | None) -> dict[str, Box]:
    rel = relations(network)
    focus = network.get("focus")
    out = {}
    for n in network["nodes"]:
        uid = n["uid"]
        lines = [_clip(line) for line in node_lines(n, rel.get(uid, ""), today) if line]
        if n["label"] == "Person":
            style = "focus" if uid == focus else ("child" if n.get("child") else "adult")
            shape = "pill" if n.get("sex") == "F" else "rect"
            out[uid] = Box(uid, style, 0, 0, lines, shape, uid == focus, True)
        else:
            out[uid] = Box(
                uid,
                n["label"] if n["label"] in STYLE else "Professional",
                0,
                0,
                lines,
                "tag" if n["label"] == "Case" else "rect",
            )
    return out


def family_tree(network: dict[str, Any], today: dt.date | None = None) -> Drawing:
    """Generations top to bottom, partners side by side; cases, professionals and
    places beneath the people they belong to."""
    boxes = _boxes(network, today)
    people = [u for u, b in boxes.items() if b.opens]
    parents: dict[str, dict[str, str]] = defaultdict(dict)
    for e in network["edges"]:
        if e["type"] == "PARENT_OF" and e["source"] in boxes and e["target"] in boxes:
            parents[e["target"]][e["source"]] = str(e.get("kind") or "birth")
    gen = _generations(network, people, parents)
    rows: dict[int, list[str]] = defaultdict(list)
    for uid in people:
        rows[gen[uid]].append(uid)
    dob = {n["uid"]: str(n.get("dob") or "9999") for n in network["nodes"]}
    for g in rows:
        rows[g].sort(key=lambda u: (dob[u], u))
    partners = _partners(parents)
    _order(rows, parents, partners)
    y = MARGIN + 30.0
    for g in sorted(rows):
        _place_row(rows[g], boxes, parents, partners, y)
        y += ROW
    lines = _parent_lines(boxes, parents, partners)
    # the rest in rows beneath: cases, then professionals, then homes, groups, schools
    links = defaultdict(set)
    for e in network["edges"]:
        if e["source"] in boxes and e["target"] in boxes and e["type"] != "PARENT_OF":
            links[e["source"]].add(e["target"])
            links[e["target"]].add(e["source"])
    placed = set(people)
    for styles in (("Case",), ("Professional",), ("Address", "Family", "School")):
        row = [u for u, b in boxes.items() if b.style in styles and u not in placed]
        if not row:
            continue
        wanted = {u: mean([boxes[v].x for v in links[u] if v in placed] or [0.0]) for u in row}
        _spread(sorted(row, key=lambda u: (wanted[u], u)), boxes, wanted, y)
        placed |= set(row)
        y += ROW * 0.8
    for e in network["edges"]:
        if e["type"] != "PARENT_OF" and e["source"] in boxes and e["target"] in boxes:
            lines.append(
                _straight(boxes[e["source"]], boxes[e["target"]], colour="#868e96", width=1.0)
            )
    return _fit(boxes, lines)


def web(network: dict[str, Any], today: dt.date | None = None) -> Drawing:
    """Everything around the child as a web (force-directed), each link named."""
    import networkx as nx

    boxes = _boxes(network, today)
    graph = nx.Graph()
    graph.add_nodes_from(boxes)
    edges = [e for e in network["edges"] if e["source"] in boxes and e["target"] in boxes]
    graph.add_edges_from((e["source"], e["target"]) for e in edges)
    at = nx.spring_layout(graph, seed=7, k=1.6 / max(len(boxes), 1) ** 0.5, iterations=200)
    scale = max(260.0, 150.0 * len(boxes) ** 0.5)
    for uid, (x, y) in at.items():
        boxes[uid].x, boxes[uid].y = float(x) * scale * 1.4, float(y) * scale
    _separate(list(boxes.values()))
    lines = [
        _straight(
            boxes[e["source"]],
            boxes[e["target"]],
            style=PARENT_STYLE.get(str(e.get("kind")), "solid")
            if e["type"] == "PARENT_OF"
            else "solid",
            label=link_words(e),
        )
        for e in edges
    ]
    return _fit(boxes, lines)


LAYOUTS = {"Family tree": family_tree, "Web": web}


def _separate(boxes: list[Box], rounds: int = 60) -> None:
    """Push overlapping boxes apart (along the axis they overlap least) until none do,
    so no label hides another."""
    pad = 14.0
    for _ in range(rounds):
        moved = False
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                ox = (a.w + b.w) / 2 + pad - abs(a.x - b.x)
                oy = (a.h + b.h) / 2 + pad - abs(a.y - b.y)
                if ox <= 0 or oy <= 0:
                    continue
                moved = True
                if ox < oy:
                    step = (ox / 2) * (1 if a.x >= b.x else -1)
                    a.x, b.x = a.x + step, b.x - step
                else:
                    step = (oy / 2) * (1 if a.y >= b.y else -1)
                    a.y, b.y = a.y + step, b.y - step
        if not moved:
            return


def _generations(
    network: dict[str, Any], people: list[str], parents: dict[str, dict[str, str]]
) -> dict[str, int]:
    """Each person's generation, the focus child's being 0: a parent one above their
    children. People not linked by parenthood sit with the children or the adults."""
    gen: dict[str, int] = {}
    focus = network.get("focus")
    kids = defaultdict(set)
    for child, ps in parents.items():
        for p in ps:
            kids[p].add(child)
    starts = [focus] if focus in people else []
    starts += [u for u in people if u not in starts]
    for start in starts:
        if start in gen:
            continue
        child = next(n.get("child") for n in network["nodes"] if n["uid"] == start)
        gen[start] = 0 if child or start == focus else -1
        todo = [start]
        while todo:
            u = todo.pop()
            for p in parents.get(u, {}):
                if p not in gen:
                    gen[p] = gen[u] - 1
                    todo.append(p)
            for c in kids.get(u, ()):
                if c not in gen:
                    gen[c] = gen[u] + 1
                    todo.append(c)
    return gen


def _partners(parents: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """People who are birth, adoptive or step-parents of the same child: drawn side by
    side (a foster carer or guardian stands apart)."""
    out: dict[str, set[str]] = defaultdict(set)
    for ps in parents.values():
        couple = {p for p, kind in ps.items() if kind in COUPLE_KINDS}
        for a in couple:
            out[a] |= couple - {a}
    return out


def _order(
    rows: dict[int, list[str]], parents: dict[str, dict[str, str]], partners: dict[str, set[str]]
) -> None:
    """Order each row so children sit under their parents and parents over their
    children (a few barycentre sweeps), then partners next to each other."""
    kids: dict[str, list[str]] = defaultdict(list)
    for child, ps in parents.items():
        for p in ps:
            kids[p].append(child)
    gens = sorted(rows)
    for _ in range(4):
        for sweep, near in ((gens[1:], parents), (gens[-2::-1], kids)):
            for g in sweep:
                other = rows.get(g - 1 if near is parents else g + 1, [])
                pos = {u: i for i, u in enumerate(other)}
                here = {u: i for i, u in enumerate(rows[g])}

                def key(u: str, pos: dict = pos, here: dict = here, near: dict = near) -> float:
                    linked = [pos[v] for v in near.get(u, ()) if v in pos]
                    return mean(linked) if linked else here[u] * len(pos) / max(len(here), 1)

                rows[g].sort(key=key)
    for g in gens:
        rows[g] = _couples_together(rows[g], partners)


def _couples_together(row: list[str], partners: dict[str, set[str]]) -> list[str]:
    """Partners adjacent: each group of people linked as parents of the same children
    is kept together, the one with most partners in the middle."""
    out: list[str] = []
    seen: set[str] = set()
    for u in row:
        if u in seen:
            continue
        group, todo = [], [u]
        while todo:
            v = todo.pop()
            if v in seen or v not in row:
                continue
            seen.add(v)
            group.append(v)
            todo += sorted(partners.get(v, set()) - seen)
        if len(group) > 2:
            hub = max(group, key=lambda v: len(partners.get(v, ())))
            rest = [v for v in sorted(group, key=row.index) if v != hub]
            group = [*rest[: len(rest) // 2], hub, *rest[len(rest) // 2 :]]
        else:
            group.sort(key=row.index)
        out += group
    return out


def _place_row(
    row: list[str],
    boxes: dict[str, Box],
    parents: dict[str, dict[str, str]],
    partners: dict[str, set[str]],
    y: float,
) -> None:
    """Left to right, each run of siblings (or partners) centred under its parents
    where there is room."""
    units: list[list[str]] = []
    for u in row:
        prev = units[-1][-1] if units else None
        same = prev is not None and (
            (parents.get(u) and set(parents.get(u, {})) == set(parents.get(prev, {})))
            or u in partners.get(prev, set())
        )
        if same:
            units[-1].append(u)
        else:
            units.append([u])
    cursor = None
    for unit in units:
        widths = [boxes[u].w for u in unit]
        total = sum(widths) + GAP * (len(unit) - 1)
        above = [boxes[p].x for u in unit for p in parents.get(u, {}) if boxes[p].y < y]
        start = (mean(above) - total / 2) if above else (cursor if cursor is not None else 0.0)
        if cursor is not None:
            start = max(start, cursor)
        x = start
        for u, w in zip(unit, widths, strict=True):
            boxes[u].x, boxes[u].y = x + w / 2, y
            x += w + GAP
        cursor = x + GAP


def _spread(row: list[str], boxes: dict[str, Box], wanted: dict[str, float], y: float) -> None:
    cursor = None
    for u in row:
        w = boxes[u].w
        x = wanted[u] - w / 2
        if cursor is not None:
            x = max(x, cursor)
        boxes[u].x, boxes[u].y = x + w / 2, y
        cursor = x + w + GAP * 0.6


def _parent_lines(
    boxes: dict[str, Box], parents: dict[str, dict[str, str]], partners: dict[str, set[str]]
) -> list[Line]:
    """Partners joined by a line; each child hangs from their parents' line (or from
    each parent), drawn by the kind of parenthood."""
    lines: list[Line] = []
    couples_drawn: set[frozenset] = set()
    for child, ps in sorted(parents.items()):
        c = boxes[child]
        top = c.y - c.h / 2
        placed = [p for p in ps if boxes[p].y < c.y]
        couple = [p for p in placed if ps[p] in COUPLE_KINDS]
        if len(couple) == 2 and abs(boxes[couple[0]].y - boxes[couple[1]].y) < 1:
            a, b = sorted((boxes[p] for p in couple), key=lambda bx: bx.x)
            pair = frozenset(couple)
            if pair not in couples_drawn:
                couples_drawn.add(pair)
                lines.append(Line([(a.x + a.w / 2, a.y), (b.x - b.w / 2, b.y)], colour="#343a40"))
            mid = ((a.x + a.w / 2 + b.x - b.w / 2) / 2, a.y)
            styles = {PARENT_STYLE.get(ps[p], "solid") for p in couple}
            style = "solid" if styles == {"solid"} else sorted(styles - {"solid"})[0]
            kinds = sorted({ps[p] for p in couple} - {"birth", "parent"})
            drop = top - 22
            lines.append(
                Line(
                    [mid, (mid[0], drop), (c.x, drop), (c.x, top)],
                    style,
                    "#343a40",
                    1.8,
                    ", ".join(kinds),
                )
            )
            placed = [p for p in placed if p not in couple]
        for p in placed:
            b = boxes[p]
            drop = top - 34
            kind = ps[p]
            lines.append(
                Line(
                    [(b.x, b.y + b.h / 2), (b.x, drop), (c.x, drop), (c.x, top)],
                    PARENT_STYLE.get(kind, "solid"),
                    "#343a40",
                    1.8,
                    "" if kind in ("birth", "parent") else kind,
                )
            )
    return lines


def _straight(a: Box, b: Box, **kw: Any) -> Line:
    """From the edge of one box to the edge of the other."""
    (x1, y1), (x2, y2) = _edge(a, b), _edge(b, a)
    return Line([(x1, y1), (x2, y2)], **kw)


def _edge(a: Box, b: Box) -> tuple[float, float]:
    dx, dy = b.x - a.x, b.y - a.y
    if dx == 0 and dy == 0:
        return a.x, a.y
    sx = (a.w / 2) / abs(dx) if dx else float("inf")
    sy = (a.h / 2) / abs(dy) if dy else float("inf")
    s = min(sx, sy, 1.0)
    return a.x + dx * s, a.y + dy * s


def _fit(boxes: dict[str, Box], lines: list[Line]) -> Drawing:
    """Move everything so the drawing starts at the margin; size the canvas to it."""
    if not boxes:
        return Drawing(2 * MARGIN, 2 * MARGIN)
    left = min(b.x - b.w / 2 for b in boxes.values()) - MARGIN
    top = min(b.y - b.h / 2 for b in boxes.values()) - MARGIN
    for b in boxes.values():
        b.x -= left
        b.y -= top
    for line in lines:
        line.points = [(x - left, y - top) for x, y in line.points]
    width = max(b.x + b.w / 2 for b in boxes.values()) + MARGIN
    height = max(b.y + b.h / 2 for b in boxes.values()) + MARGIN
    # people first in reading order, so the keyboard walks the tree row by row
    ordered = sorted(boxes.values(), key=lambda b: (round(b.y), b.x))
    return Drawing(width, height, ordered, lines)
