"""Saved queries with a form built from their parameters; ad-hoc Cypher for analysts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph import GraphError
from graph.access.policy import Restricted, allowed
from queries.library import load_library
from queries.runner import (
    ADHOC_EXAMPLE,
    ParamValidationError,
    QueryDenied,
    QueryResult,
    form_date,
    run_adhoc,
    run_saved,
)
from ui.app import context
from ui.app.plain import literal


def _show(result: QueryResult, display: str, chart: dict | None, where: dict | None) -> None:
    frame = pd.DataFrame(result.rows, columns=result.columns).map(
        lambda v: str(v) if isinstance(v, Restricted) else v
    )
    (st.warning if result.truncated else st.caption)(result.message)
    if display == "chart" and chart and not frame.empty:
        st.bar_chart(frame, x=chart["x"], y=chart["y"])
    if display == "map" and where and not frame.empty:
        points = frame.dropna(subset=[where["lat"], where["lon"]])
        st.scatter_chart(points, x=where["lon"], y=where["lat"])
    st.dataframe(frame, hide_index=True)
    context.download_csv(
        frame, "jigsaw-query.csv", {"query": result.query_id}, children=result.children
    )


def render() -> None:
    st.header("Saved queries")
    principal = context.current_user()
    library = [q for q in load_library() if principal.role in q.roles]
    if library:
        titles = {q.title: q for q in library}
        query = titles[st.selectbox("Query", list(titles))]
        st.caption(query.description)
        with st.form(f"q-{query.id}"):
            values = {}
            for p in query.params:
                label = p.label or p.name
                if p.kind == "date":
                    opens_on = form_date(context.store(), query, p)
                    values[p.name] = st.date_input(label, value=opens_on)
                elif p.kind == "number":
                    values[p.name] = st.number_input(
                        label, value=float(p.default or 0), min_value=p.min, max_value=p.max
                    )
                elif p.kind == "choice":
                    values[p.name] = st.selectbox(
                        label,
                        p.choices,
                        index=(p.choices or []).index(p.default)
                        if p.default in (p.choices or [])
                        else 0,
                    )
                else:
                    values[p.name] = st.text_input(
                        label, value=st.session_state.get("child", "") if p.kind == "child" else ""
                    )
            submitted = st.form_submit_button("Run")
        if submitted:
            try:
                result = run_saved(
                    context.store(), query.id, values, principal=principal, audit=context.audit()
                )
                _show(result, query.display, query.chart, query.map)
            except ParamValidationError as exc:
                for name, problem in exc.problems.items():
                    st.error(literal(f"{name}: {problem}"))
            except (QueryDenied, GraphError) as exc:
                st.error(literal(exc))
    if allowed(principal, "run_adhoc"):
        st.subheader("Your own Cypher (read-only)")
        with st.form("adhoc"):
            text = st.text_area("Cypher", value=ADHOC_EXAMPLE)
            go = st.form_submit_button("Run read-only")
        if go:
            try:
                _show(
                    run_adhoc(context.store(), text, principal=principal, audit=context.audit()),
                    "table",
                    None,
                    None,
                )
            except (ParamValidationError, QueryDenied, GraphError) as exc:
                st.error(literal(exc))
