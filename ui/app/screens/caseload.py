"""Caseload map for managers: where the children of open cases live, area by area,
each team's cases in its own colour, unallocated cases marked and listed, and each
worker's weighted caseload against capacity. Opens on the manager's own team."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import streamlit as st

from graph import views
from graph.access import guard
from ui import caseload_map, geo
from ui.app import context
from ui.app.plain import literal
from ui.present import caseload as present
from ui.present.words import case_kind

KINDS = ["CIN", "CP", "CLA", "CL", "EHCP", "SEN support", "EH", "YJ", "HV", "EWO", "Transport"]
MOST_POINTS = 25_000  # a team's cases drawn one by one, at most (the browser draws each)
UNALLOCATED_LISTED = 50  # on the page
UNALLOCATED_KEPT = 1_000  # read, drawn and in the download, longest waiting first


@st.cache_resource(max_entries=4)
def _areas(path: str, modified: float, name_property: str) -> geo.Areas:
    return geo.read_areas(Path(path), name_property)


def render() -> None:
    st.title("Caseload map")
    principal = context.current_user()
    store = context.store()
    settings = context.settings()
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
        found = guard.caseload(
            store,
            principal,
            context.audit(),
            no_worker_needed=sorted(present.NO_WORKER_NEEDED),
            status=status,
            kind=kind,
            service=service,
            team=team,
            most_cases=MOST_POINTS,
            most_waiting=UNALLOCATED_KEPT,
        )
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    # one team: its cases and those waiting one by one; every team: cases per home
    points = found.cases + found.waiting
    areas = _boundaries(settings)
    counts: Counter = Counter()
    if areas is not None:
        counts = caseload_map.area_counts(areas, points if team != "any" else found.homes)
        caseload_map.area_counts(areas, found.waiting)  # names each waiting case's area
    m1, m2, m3 = st.columns(3)
    if team != "any":
        shown = sum(w["cases"] for w in found.workers) + found.waiting_total
    else:
        shown = sum(h["cases"] for h in found.homes)
    m1.metric("Cases", f"{shown:,}")
    m2.metric("Unallocated (need a worker)", f"{found.waiting_total:,}")
    m3.metric("Workers", f"{len({w['professional_uid'] for w in found.workers}):,}")
    chart, legend = caseload_map.deck(
        points,
        areas,
        counts,
        colour_by=colour_by,
        tiles=settings.map_tiles,
        focus=found.cases if team != "any" else found.homes,
    )
    st.pydeck_chart(chart, height=560)
    _legend(legend, areas is not None, team != "any", settings.map_tiles)
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Unallocated cases")
        _unallocated(found.waiting, found.waiting_total)
    with right:
        st.subheader("Caseload per worker")
        st.caption(f"Weighted cases against a capacity of {settings.caseload_capacity:g} each.")
        workers = present.per_worker(found.workers, settings.caseload_capacity)
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
            present.per_team(found.workers, settings.caseload_capacity),
            empty="No allocated cases.",
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
        parts.append("▲ an unallocated case (dark red) · choose a team to see its cases one by one")
    parts.append(
        "Base map: "
        + (
            "tiles from the council's tile server"
            if tiles
            else "none (area boundaries only; nothing is fetched)"
        )
    )
    st.markdown("  \n".join(parts), unsafe_allow_html=True)


def _unallocated(waiting: list[dict], total: int) -> None:
    listed = present.unallocated_rows(waiting)
    if not listed:
        st.caption("Every case that needs a worker has one.")
        return
    st.caption("Longest waiting first.")
    for row in listed[:UNALLOCATED_LISTED]:
        words = f"{row['Child']}: {row['Involvement']}, {row['Service']}"
        words += f" ({row['Area']})" if row["Area"] else ""
        if row["uid"]:
            context.link_to("record", words, row["uid"], or_text=True)
        else:
            st.text(words)
    if total > UNALLOCATED_LISTED:
        kept = f"the first {len(listed):,}" if total > len(listed) else "all of them"
        st.caption(f"and {total - UNALLOCATED_LISTED:,} more: download {kept}.")
    context.download_csv(
        pd.DataFrame(
            [{"child_uid": r["uid"], **{k: v for k, v in r.items() if k != "uid"}} for r in listed]
        ),
        "jigsaw-unallocated.csv",
        {"view": "unallocated"},
    )
