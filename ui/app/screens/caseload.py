"""Caseload map for managers: where the children of open cases live, area by area,
each team's cases in its own colour, unallocated cases marked and listed, and each
worker's weighted caseload against capacity. Opens on the manager's own team."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from graph import load_settings, views
from graph.access import guard
from ui import caseload_map, geo
from ui.app import context
from ui.app.plain import literal
from ui.present import caseload as present
from ui.present.words import case_kind

KINDS = ["CIN", "CP", "CLA", "CL", "EHCP", "SEN support", "EH", "YJ", "HV", "EWO", "Transport"]
MOST_POINTS = 25_000  # beyond this the map shades areas only (the browser draws every dot)
UNALLOCATED_LISTED = 50


@st.cache_resource(max_entries=4)
def _areas(path: str, modified: float, name_property: str) -> geo.Areas:
    return geo.read_areas(Path(path), name_property)


def render() -> None:
    st.title("Caseload map")
    principal = context.current_user()
    store = context.store()
    settings = load_settings()
    teams = {t["uid"]: t["name"] for t in views.teams(store)}
    services = {s["uid"]: s["name"] for s in views.services(store)}
    mine = [t for t in principal.teams if t in teams]
    c1, c2, c3, c4, c5 = st.columns(5)
    team = c1.selectbox(
        "Team",
        ["any", *teams],
        index=1 + list(teams).index(mine[0]) if mine else 0,
        format_func=lambda t: "All teams" if t == "any" else teams[t],
    )
    service = c2.selectbox(
        "Service",
        ["any", *services],
        format_func=lambda s: "All services" if s == "any" else services[s],
    )
    kind = c3.selectbox(
        "Involvement",
        ["any", *KINDS],
        format_func=lambda k: "All kinds" if k == "any" else case_kind(k),
    )
    status = c4.selectbox("Cases", ["open", "closed", "any"], format_func=str.capitalize)
    colour_by = c5.radio(
        "Colour by", ["team", "service"], format_func=str.capitalize, horizontal=True
    )
    try:
        # every team's cases, then the chosen team's with the unallocated cases in the
        # services it works in (an unallocated case has no team of its own)
        rows = guard.caseload(
            store, principal, context.audit(), status=status, kind=kind, service=service, team="any"
        )
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    if team != "any":
        rows = present.for_team(rows, teams[team])
    areas = _boundaries(settings)
    area_of: list[int | None] = [None] * len(rows)
    if areas is not None:
        placed = [i for i, r in enumerate(rows) if r.get("lat") is not None]
        found = areas.locate([rows[i]["lon"] for i in placed], [rows[i]["lat"] for i in placed])
        for i, a in zip(placed, found, strict=True):
            area_of[i] = a
            rows[i]["area"] = areas.names[a] if a is not None else None
    unallocated = present.unallocated(rows)
    m1, m2, m3 = st.columns(3)
    m1.metric("Cases", f"{len(rows):,}")
    m2.metric("Unallocated (need a worker)", f"{len(unallocated):,}")
    m3.metric("Workers", f"{len({r['professional'] for r in rows if r.get('professional')}):,}")
    draw = len(rows) <= MOST_POINTS
    mine_named = {teams[t] for t in mine}
    focus = rows if team != "any" else [r for r in rows if r.get("team") in mine_named]
    chart, legend = caseload_map.deck(
        rows,
        areas,
        area_of,
        colour_by=colour_by,
        tiles=settings.map_tiles,
        draw_points=draw,
        focus=focus,
    )
    st.pydeck_chart(chart, height=560)
    _legend(legend, areas is not None, draw, settings.map_tiles)
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Unallocated cases")
        _unallocated(rows, principal)
    with right:
        st.subheader("Caseload per worker")
        st.caption(f"Weighted cases against a capacity of {settings.caseload_capacity:g} each.")
        workers = present.per_worker(rows, settings.caseload_capacity)
        if workers:
            st.dataframe(
                pd.DataFrame(workers),
                hide_index=True,
                column_config={
                    "Worker": st.column_config.TextColumn(width="medium"),
                    "Team": st.column_config.TextColumn(width="medium"),
                    "Of capacity": st.column_config.ProgressColumn(
                        "Of capacity", format="%d%%", min_value=0, max_value=150
                    ),
                },
            )
        st.subheader("Per team")
        context.table(
            present.per_team(rows, settings.caseload_capacity), empty="No allocated cases."
        )


def _boundaries(settings: object) -> geo.Areas | None:
    path = geo.boundary_file(settings.map_boundaries, settings.data_dir)  # type: ignore[attr-defined]
    if path is None:
        st.info(
            "No area boundaries are set: the map shows cases only. Put a GeoJSON boundary "
            "file (ONS LSOA or ward boundaries) in the data directory as boundaries.geojson, "
            "or name it with JIGSAW_MAP_BOUNDARIES."
        )
        return None
    try:
        return _areas(str(path), path.stat().st_mtime, settings.map_area_name)  # type: ignore[attr-defined]
    except (OSError, geo.BoundaryError) as exc:
        st.warning(literal(f"The area boundaries could not be used: {exc}"))
        return None


def _legend(legend: dict, shaded: bool, drawn: bool, tiles: str) -> None:
    parts = []
    if shaded and legend["shades"]:
        parts.append(
            "Cases in the area: "
            + " ".join(
                f'<span style="background:{c};border:1px solid #555;padding:0 .5em">&nbsp;</span> '
                f"{literal(label)}"
                for c, label in legend["shades"]
            )
        )
    if drawn:
        parts.append(
            "● a case, coloured by "
            + ("team" if legend["colours"] else "group")
            + " · ▲ an unallocated case (dark red)"
        )
        if legend["colours"]:
            parts.append(
                " ".join(
                    f'<span style="color:{c}">●</span> {literal(name)}'
                    for name, c in list(legend["colours"].items())[:30]
                )
            )
    else:
        parts.append("Too many cases to draw one by one: choose a team or service to see them.")
    parts.append(
        "Base map: "
        + (
            "tiles from the council's tile server"
            if tiles
            else "none (area boundaries only; nothing is fetched)"
        )
    )
    st.markdown("  \n".join(parts), unsafe_allow_html=True)


def _unallocated(rows: list[dict], principal: object) -> None:
    listed = present.unallocated_rows(rows)
    if not listed:
        st.caption("Every case that needs a worker has one.")
        return
    for row in listed[:UNALLOCATED_LISTED]:
        words = f"{row['Child']}: {row['Involvement']}, {row['Service']}"
        words += f" ({row['Area']})" if row["Area"] else ""
        if row["uid"]:
            context.link_to("record", words, row["uid"], or_text=True)
        else:
            st.text(words)
    if len(listed) > UNALLOCATED_LISTED:
        st.caption(f"and {len(listed) - UNALLOCATED_LISTED:,} more: download the list.")
    context.download_csv(
        pd.DataFrame(
            [{"child_uid": r["uid"], **{k: v for k, v in r.items() if k != "uid"}} for r in listed]
        ),
        "jigsaw-unallocated.csv",
        {"view": "unallocated"},
    )
