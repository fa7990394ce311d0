"""Audit trail for administrators: verify the chain, search by child, export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph.access.guard import AccessDenied
from graph.access.policy import allowed
from ui.app import context


def render() -> None:
    st.header("Audit trail")
    principal = context.current_user()
    if not allowed(principal, "read_audit"):
        st.error(str(AccessDenied("only administrators read the audit trail")))
        return
    log = context.audit()
    broken = log.verify()
    if broken:
        st.error(f"The chain is broken at entry {broken.line}: {broken.why}")
    else:
        st.success("The chain is intact: no entry has been changed or removed.")
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
    st.download_button(
        "Export CSV",
        log.export_csv().encode(),
        file_name="audit.csv",
        mime="text/csv",
        on_click=lambda: log.record(
            user=principal.username, role=principal.role, action="export_audit"
        ),
    )
