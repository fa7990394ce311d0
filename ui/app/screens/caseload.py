"""Caseload map for managers: open cases where the children live, by team or worker."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from graph import load_settings, views
from graph.access import guard
from ui.app import context
from ui.app.plain import literal

KINDS = [
    "any",
    "CIN",
    "CP",
    "CLA",
    "CL",
    "EHCP",
    "SEN support",
    "EH",
    "YJ",
    "HV",
    "EWO",
    "Transport",
]


def render() -> None:
    st.header("Caseload map")
    store = context.store()
    teams = {"any": "any"} | {t["name"]: t["uid"] for t in views.teams(store)}
    services = {"any": "any"} | {s["name"]: s["uid"] for s in views.services(store)}
    c1, c2, c3, c4, c5 = st.columns(5)
    team = c1.selectbox("Team", list(teams))
    service = c2.selectbox("Service", list(services))
    kind = c3.selectbox("Case kind", KINDS)
    status = c4.selectbox("Status", ["open", "closed", "any"])
    colour_by = c5.selectbox("Colour by", ["team", "professional"])
    try:
        rows = guard.caseload(
            store,
            context.current_user(),
            context.audit(),
            status=status,
            kind=kind,
            service=services[service],
            team=teams[team],
        )
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    frame = pd.DataFrame(
        rows,
        columns=[
            "child_uid",
            "case_uid",
            "kind",
            "status",
            "service",
            "professional",
            "team",
            "lat",
            "lon",
            "district",
        ],
    )
    frame["allocated"] = frame["professional"].notna()
    frame[colour_by] = frame[colour_by].fillna("UNALLOCATED")
    left, right = st.columns([3, 2])
    with left:
        drawn = ["lat", "lon", "kind", "service", "professional", "team", "district", "allocated"]
        points = frame.dropna(subset=["lat", "lon"])[drawn]  # the chart holds only what it draws
        tiles = load_settings().map_tiles
        if tiles:
            st.caption(f"Tiles from {literal(tiles)}")
        chart = (
            alt.Chart(points)
            .mark_circle(size=40)
            .encode(
                x=alt.X("lon:Q", scale=alt.Scale(zero=False), title="longitude"),
                y=alt.Y("lat:Q", scale=alt.Scale(zero=False), title="latitude"),
                color=alt.Color(f"{colour_by}:N"),
                shape=alt.Shape("allocated:N"),
                tooltip=["kind", "service", "professional", "team", "district"],
            )
            .properties(height=520)
        )
        st.altair_chart(chart, use_container_width=True)
        st.caption(f"{len(points):,} cases drawn on a plain background (no map tiles).")
    with right:
        unallocated = frame[~frame["allocated"]]
        st.metric("Unallocated cases", len(unallocated))
        st.markdown("#### Per professional")
        st.dataframe(
            frame[frame["allocated"]]
            .groupby(["professional", "team"])
            .size()
            .rename("cases")
            .reset_index()
            .sort_values("cases", ascending=False),
            hide_index=True,
        )
        st.markdown("#### Per team")
        st.dataframe(frame.groupby("team").size().rename("cases").reset_index(), hide_index=True)
        if len(unallocated):
            st.markdown("#### Unallocated")
            st.dataframe(unallocated[["case_uid", "kind", "service", "district"]], hide_index=True)
