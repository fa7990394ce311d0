"""Saved queries with a form built from their parameters; ad-hoc Cypher for analysts.
Results are shown in words (ui.present.tables); the download is the query's own rows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph import GraphError
from graph.access.policy import allowed
from planning.code_labels import lists
from queries.library import SavedQuery, load_library
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
from ui.present.tables import shown
from ui.present.words import field


def _show(result: QueryResult, query: SavedQuery | None) -> None:
    labels, rows, uids = shown(
        result.columns,
        result.rows,
        query.columns if query else None,
        pseudonymised=result.pseudonymised,
    )
    frame = pd.DataFrame(rows, columns=labels)
    (st.warning if result.truncated else st.caption)(literal(result.message))
    named = dict(zip(result.columns, [field(c) for c in result.columns], strict=True))
    if query and query.display == "chart" and query.chart and not frame.empty:
        st.bar_chart(frame, x=named[query.chart["x"]], y=named[query.chart["y"]])
    if query and query.display == "map" and query.map and not frame.empty:
        lat, lon = named[query.map["lat"]], named[query.map["lon"]]
        st.scatter_chart(frame.dropna(subset=[lat, lon]), x=lon, y=lat)
    chosen = st.dataframe(
        placeholder="",
        data=frame,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"result-{result.query_id}",
    )
    picked = getattr(getattr(chosen, "selection", None), "rows", None) or []
    if picked and uids[picked[0]]:
        context.link_to("record", "Open the selected child's record", uids[picked[0]])
    elif any(uids):
        st.caption("Select a row to open that child's record.")
    raw = pd.DataFrame(result.rows, columns=result.columns).map(
        lambda v: str(v) if v is not None and not isinstance(v, int | float | str) else v
    )
    context.download_csv(
        raw, "jigsaw-query.csv", {"query": result.query_id}, children=result.children
    )


def _choice_words(name: str, choices: list[str]) -> dict[str, str]:
    """A choice's words when every choice is a code of one list ("HI" -> "Hearing
    Impairment (HI)"), else the choices as they are."""
    for codes in lists().values():
        if choices and all(c in codes for c in choices):
            return {c: f"{codes[c]} ({c})" for c in choices}
    return {c: c for c in choices}


def render() -> None:
    st.title("Saved queries")
    principal = context.current_user()
    library = [q for q in load_library() if principal.role in q.roles]
    if library:
        titles = {q.title: q for q in library}
        query = titles[st.selectbox("Query", list(titles))]
        st.caption(literal(query.description))
        with st.form(f"q-{query.id}"):
            values = {}
            for p in query.params:
                label = p.label or field(p.name)
                if p.kind == "date":
                    opens_on = form_date(context.store(), query, p)
                    values[p.name] = st.date_input(label, value=opens_on, format="DD/MM/YYYY")
                elif p.kind == "number":
                    values[p.name] = st.number_input(
                        label, value=float(p.default or 0), min_value=p.min, max_value=p.max
                    )
                elif p.kind == "choice":
                    words = _choice_words(p.name, p.choices or [])
                    values[p.name] = st.selectbox(
                        label,
                        p.choices,
                        index=(p.choices or []).index(p.default)
                        if p.default in (p.choices or [])
                        else 0,
                        format_func=words.get,
                    )
                elif p.kind == "child" and st.session_state.get("child"):
                    st.caption("About the child whose record you opened last.")
                    values[p.name] = st.session_state["child"]
                else:
                    values[p.name] = st.text_input(label)
            submitted = st.form_submit_button("Run")
        if submitted:
            try:
                result = run_saved(
                    context.store(), query.id, values, principal=principal, audit=context.audit()
                )
                st.session_state["query_result"] = (query.id, result)
            except ParamValidationError as exc:
                for name, problem in exc.problems.items():
                    st.error(literal(f"{field(name)}: {problem}"))
            except (QueryDenied, GraphError) as exc:
                st.error(literal(exc))
        kept = st.session_state.get("query_result")
        if kept and kept[0] == query.id:
            _show(kept[1], query)
    if allowed(principal, "run_adhoc"):
        st.subheader("Your own Cypher (read-only)")
        with st.form("adhoc"):
            text = st.text_area("Cypher", value=ADHOC_EXAMPLE)
            go = st.form_submit_button("Run read-only")
        if go:
            try:
                st.session_state["adhoc_result"] = run_adhoc(
                    context.store(), text, principal=principal, audit=context.audit()
                )
            except (ParamValidationError, QueryDenied, GraphError) as exc:
                st.error(literal(exc))
        if st.session_state.get("adhoc_result") is not None:
            _show(st.session_state["adhoc_result"], None)
