"""Audit trail for administrators: verify the chain, search by child, export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph.access import guard
from graph.access.audit import EXPORT_COLUMNS
from graph.access.guard import AccessDenied
from graph.access.policy import allowed
from ui.app import context
from ui.app.plain import literal
from ui.present import data as present
from ui.present.words import moment


def render() -> None:
    st.title("Audit trail")
    principal = context.current_user()
    if not allowed(principal, "read_audit"):
        st.error(literal(AccessDenied("only administrators read the audit trail")))
        return
    status = st.container()  # the verdict above the search box, as it is worked out after
    child = st.text_input(
        "Who has looked at this child? (the child's reference, from their record's address)",
        key="audit_child",
    )
    log = context.audit()
    verdict, entries = guard.audit_trail(principal, log, child.strip())
    if verdict.broken:
        status.error(
            literal(f"The trail is broken at entry {verdict.broken.line}: {verdict.broken.why}")
        )
    else:
        status.success(
            f"The trail is intact: {verdict.entries:,} entries, none changed, removed or "
            "added, and its end matches the head kept outside the log."
            + (
                f" Entries from {verdict.checked_from:,} were checked now; the earlier ones "
                f"when the whole trail was last walked ({moment(verdict.walked_in_full)}; "
                "`jigsaw audit verify` walks it all again)."
                if verdict.checked_from > 1
                else ""
            )
        )
    for note in verdict.notes:
        status.warning(literal(note))
    rows = present.audit_rows(entries)
    st.caption(f"{len(rows):,} entries, newest first.")
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    context.download_csv(
        lambda: pd.DataFrame(list(log.export_rows()), columns=EXPORT_COLUMNS),
        "audit.csv",
        {},
        children=(),
        action="export_audit",
    )
