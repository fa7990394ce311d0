"""Planning ahead: risk of NEET, transitions next September and the needs forecast."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from graph import risk_facts
from graph.access import guard
from graph.access.policy import Restricted, allowed
from planning.calendar import academic_year
from planning.forecast import needs_forecast
from planning.risk import load_risk_config
from planning.transitions import transitions
from queries.library import get_query
from queries.runner import QueryDenied, run_saved
from ui.app import context
from ui.app.plain import literal
from ui.present.tables import shown
from ui.present.words import day

ENTRY_POINTS = ["Reception", "Year 7", "Year 12"]


def render() -> None:
    st.title("Planning ahead")
    principal = context.current_user()
    tabs = []
    if principal.role in get_query("risk_of_neet").roles and allowed(principal, "run_query"):
        tabs.append(("Risk of NEET", _risk))
    if allowed(principal, "plan_ahead"):
        tabs += [("Transitions ahead", _transitions), ("Needs forecast", _forecast)]
    if not tabs:
        st.info("Your role has no planning views.")
        return
    for tab, (_title, draw) in zip(st.tabs([t for t, _ in tabs]), tabs, strict=True):
        with tab:
            draw()


def _risk() -> None:
    config = load_risk_config()
    st.caption(
        "Pupils in Years 8 to 11 scored in the published RONI style plus joined-up signals; "
        "the weights and bands are the council's own setting."
    )
    c1, c2, c3 = st.columns(3)
    band = c1.selectbox("Risk band", ["medium or high", "high", "medium", "low", "all"])
    year = c2.selectbox("Year group", ["all", "8", "9", "10", "11"])
    kept = risk_facts.kept_day(context.store())
    as_of = c3.date_input(
        "As at", value=kept or dt.date.today(), key="risk_as_of", format="DD/MM/YYYY"
    )
    years = risk_facts.kept_years(context.store())
    # every day up to the end of the kept years is a read (none is on the list before)
    if kept is not None and as_of != kept and academic_year(as_of) > max(years, default=0):
        until = f" and every day to {day(dt.date(max(years) + 1, 8, 31))}" if years else ""
        st.caption(
            f"The latest load worked the list out as at {day(kept)}{until}; for another "
            "day it is worked out from the records now, which takes longer."
        )
    try:
        result = run_saved(
            context.store(),
            "risk_of_neet",
            {"as_of": as_of.isoformat(), "band": band, "year_group": year},
            principal=context.current_user(),
            audit=context.audit(),
        )
    except QueryDenied as exc:
        st.error(literal(exc))
        return
    frame = pd.DataFrame(result.rows, columns=result.columns)
    if frame.empty:
        st.info("No pupil in this band.")
        return
    frame["factors"] = frame["factors"].map(lambda f: "; ".join(config.explain(list(f))))
    first = ["child_uid", "child_name", "band", "score", "factors", "year_group", "school", "area"]
    frame = frame[[c for c in first if c in frame] + [c for c in frame.columns if c not in first]]
    f1, f2 = st.columns(2)
    schools = f1.multiselect("School", sorted(frame["school"].dropna().unique()))
    areas = f2.multiselect("Area", sorted(frame["area"].dropna().unique()))
    if schools:
        frame = frame[frame["school"].isin(schools)]
    if areas:
        frame = frame[frame["area"].isin(areas)]
    counts = frame["band"].value_counts()
    st.caption(
        literal(
            " · ".join(
                f"{b}: {counts.get(b, 0):,}" for b in ("high", "medium", "low") if b in counts
            )
            + f" · {result.message}"
        )
    )
    _table(frame, "risk_table", pseudonymised=result.pseudonymised)
    context.download_csv(
        frame,
        "jigsaw-risk-of-neet.csv",
        {"query": "risk_of_neet"},
        # from the pseudonymised copy, the uids in the table are pseudonyms
        children=result.children if result.pseudonymised else None,
    )


def _table(frame: pd.DataFrame, key: str, *, pseudonymised: bool = False) -> None:
    """The rows in words, ids left out; a selected row's record opens from a link."""
    labels, rows, uids = shown(
        list(frame.columns), frame.to_dict("records"), pseudonymised=pseudonymised
    )
    chosen = st.dataframe(
        placeholder="",
        data=pd.DataFrame(rows, columns=labels),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=key,
    )
    picked = getattr(getattr(chosen, "selection", None), "rows", None) or []
    if picked and uids[picked[0]]:
        context.link_to("record", "Open the selected child's record", uids[picked[0]])


def _transitions() -> None:
    st.caption(
        "Children moving school next September, grouped by the school they are expected to "
        "go to: the offer where there is one, else their own sixth form or the nearest "
        "school. Transport is 'likely' beyond the statutory walking distance (straight line)."
    )
    entry = st.radio("Starting", ENTRY_POINTS, horizontal=True)
    try:
        rows = guard.transitions(
            context.store(),
            context.current_user(),
            context.audit(),
            entry,
            dt.date.today(),
            plan=transitions,
        )
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    if not rows:
        st.info("No child known to Jigsaw starts there next September.")
        return
    frame = pd.DataFrame(rows).map(lambda v: str(v) if isinstance(v, Restricted) else v)
    summary = (
        frame.groupby("expected_school")
        .agg(children=("child_name", "size"))
        .reset_index()
        .sort_values("children", ascending=False)
    )
    st.subheader("By expected school")
    context.table(
        [
            {"Expected school": r.expected_school, "Children": f"{r.children:,}"}
            for r in summary.itertuples()
        ]
    )
    st.subheader("Children")
    _table(frame, "transitions")
    context.download_csv(
        frame,
        f"jigsaw-transitions-{entry.lower().replace(' ', '-')}.csv",
        {"view": "transitions", "entry_point": entry},
    )


def _forecast() -> None:
    st.caption(
        "Expected numbers of children in Reception to Year 13 with each need, an EHC plan or "
        "school transport: today's children aged forward, needs identified at today's rates "
        "by year group. Numbers are expected counts, rounded to whole children."
    )
    years = st.slider("Years ahead", 1, 3, 3)
    try:
        rows = guard.needs_forecast(
            context.store(),
            context.current_user(),
            context.audit(),
            dt.date.today(),
            years,
            forecast=needs_forecast,
        )
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    frame = pd.DataFrame(rows, columns=["term", "academic_year", "area", "category", "children"])
    if frame.empty:
        st.info("No children to forecast from.")
        return
    areas = ["all areas", *sorted(frame["area"].unique())]
    area = st.selectbox("Area", areas)
    shown = frame if area == "all areas" else frame[frame["area"] == area]
    totals = shown.groupby(["term", "category"], sort=False)["children"].sum().reset_index()
    order = list(dict.fromkeys(frame["term"]))
    chart = (
        alt.Chart(totals)
        .mark_line(point=True)
        .encode(
            x=alt.X("term:N", sort=order, title="Term"),
            y=alt.Y("children:Q", title="Children (expected)"),
            color=alt.Color("category:N", title="Need"),
            tooltip=[
                alt.Tooltip("term:N", title="Term"),
                alt.Tooltip("category:N", title="Need"),
                alt.Tooltip("children:Q", title="Children", format=",.0f"),
            ],
        )
    )
    st.altair_chart(chart, width="stretch")
    table = totals.pivot(index="category", columns="term", values="children")[order]
    context.table(
        [
            {"Need": need, **{term: f"{round(n):,}" for term, n in row.items()}}
            for need, row in table.iterrows()
        ]
    )
    context.download_csv(frame, "jigsaw-needs-forecast.csv", {"view": "forecast"})
