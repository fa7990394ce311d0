"""Audit trail for administrators: verify the chain, search by child, export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph.access.audit import EXPORT_COLUMNS
from graph.access.guard import AccessDenied
from graph.access.policy import allowed
from ui.app import context
from ui.app.plain import literal


def render() -> None:
    st.header("Audit trail")
    principal = context.current_user()
    if not allowed(principal, "read_audit"):
        st.error(literal(AccessDenied("only administrators read the audit trail")))
        return
    log = context.audit()
    verdict = log.check()
    if verdict.broken:
        st.error(
            literal(f"The trail is broken at entry {verdict.broken.line}: {verdict.broken.why}")
        )
    else:
        st.success(
            f"The trail is intact: {verdict.entries:,} entries, none changed, removed or "
            "added, and its end matches the head kept outside the log."
        )
    for note in verdict.notes:
        st.warning(literal(note))
    child = st.text_input("Who has looked at this child? (child id)", key="audit_child")
    entries = log.about_child(child.strip()) if child.strip() else list(log.entries())[-500:]
    frame = pd.DataFrame(
        [
            {k: e.get(k) for k in ("at", "user", "role", "action", "children", "reason")}
            for e in entries
        ]
    )
    st.dataframe(frame, hide_index=True)
    log.record(
        user=principal.username,
        role=principal.role,
        action="read_audit",
        detail={"child": child.strip()},
    )
    context.download_csv(
        lambda: pd.DataFrame(list(log.export_rows()), columns=EXPORT_COLUMNS),
        "audit.csv",
        {},
        children=(),
        action="export_audit",
    )
