"""Data: the latest load report, the quarantine and the linkage review queue."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph.access import guard
from graph.access.policy import allowed
from loaders import review
from loaders.report import latest_dropped, latest_quarantine, latest_report
from ui.app import context
from ui.app.plain import literal


def render() -> None:
    st.header("Data")
    loads = context.data_dir() / "loads"
    report = latest_report(loads)
    if report is None:
        st.info("Nothing has been loaded yet: run `jigsaw load DIR`.")
    else:
        st.text(report.to_markdown())  # names of files and sources: shown as they are
    st.subheader("Quarantine")
    principal = context.current_user()
    rows = guard.quarantine(principal, context.audit(), latest_quarantine(loads))
    st.caption(f"{len(rows):,} row(s) held back, each with its reason.")
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.subheader("Values dropped")
    dropped = guard.quarantine(principal, context.audit(), latest_dropped(loads))
    st.caption(
        f"{len(dropped):,} value(s) dropped from rows that were kept (an identifier failing "
        "its check, an unknown code): where, masked, and why."
    )
    if dropped:
        st.dataframe(pd.DataFrame(dropped), hide_index=True)
    if not allowed(principal, "review_linkage"):
        return
    st.subheader("Possible duplicates to review")
    st.caption(f"{review.pending_count(context.store()):,} pair(s) await a decision.")
    shown = review.pending(context.store(), first=25)
    context.audit().record(
        user=principal.username,
        role=principal.role,
        action="view_review_queue",
        children=[p["uid"] for pair in shown for p in pair["people"]],
    )
    for pair in shown:
        a, b = pair["people"]
        cols = st.columns([4, 4, 2, 1, 1])
        cols[0].text(f"{a['name']} ({a['dob']}) — {a['sources']}")
        cols[1].text(f"{b['name']} ({b['dob']}) — {b['sources']}")
        cols[2].text(f"p={pair['probability']:.2f}; agreed: {pair['agreed']}")
        if cols[3].button("Same", key=f"acc-{pair['uid']}"):
            try:
                review.decide(context.store(), pair["uid"], True, principal.username)
            except review.ReviewError as exc:  # e.g. a load is writing: try again after it
                st.warning(literal(exc))
                continue
            context.audit().record(
                user=principal.username,
                role=principal.role,
                action="review_accept",
                children=[a["uid"], b["uid"]],
            )
            st.rerun()
        if cols[4].button("Different", key=f"rej-{pair['uid']}"):
            review.decide(context.store(), pair["uid"], False, principal.username)
            context.audit().record(
                user=principal.username,
                role=principal.role,
                action="review_reject",
                children=[a["uid"], b["uid"]],
            )
            st.rerun()
