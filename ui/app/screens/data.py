"""Data: the latest load report, the quarantine and the values dropped."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph.access import guard
from graph.access.policy import allowed
from loaders.report import latest_dropped, latest_quarantine, latest_report
from ui.app import context
from ui.app.plain import literal
from ui.present import data as present


def render() -> None:
    st.title("Data")
    loads = context.data_dir() / "loads"
    report = latest_report(loads)
    if report is None:
        st.info("Nothing has been loaded yet: run jigsaw load with the extracts' directory.")
    else:
        st.subheader("Latest load")
        st.text(present.load_heading(report))
        for problem in present.file_problems(report):
            st.warning(literal(problem))
        context.table(present.load_rows(report))
        st.caption(literal(present.load_summary(report)))
    st.subheader("Quarantine: rows held back")
    principal = context.current_user()
    rows = guard.quarantine(principal, context.audit(), latest_quarantine(loads))
    st.caption(f"{len(rows):,} row(s) held back, each with its reason.")
    if rows:
        st.dataframe(pd.DataFrame(present.held_back(rows)), hide_index=True)
    st.subheader("Values dropped")
    dropped = guard.quarantine(principal, context.audit(), latest_dropped(loads))
    st.caption(
        f"{len(dropped):,} value(s) dropped from rows that were kept (an identifier failing "
        "its check, an unknown code): where, masked, and why."
    )
    if dropped:
        st.dataframe(pd.DataFrame(present.dropped(dropped)), hide_index=True)
    if allowed(principal, "review_linkage"):
        st.caption("Possible duplicates are decided on the Possible duplicates page.")
