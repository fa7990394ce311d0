"""Home: alerts about children on the signed-in professional's own open cases."""

from __future__ import annotations

import streamlit as st

from graph.access import guard
from ui.app import context
from ui.app.plain import literal
from ui.present.words import code, moment


def render() -> None:
    principal = context.current_user()
    st.title("My alerts")
    if not principal.professional and not principal.teams:
        st.info("Your account is not linked to a professional or a team: no alerts come to you.")
        return
    if not principal.professional:
        st.caption("Alerts for the professionals in your teams.")
    store = context.store()
    show_seen = st.toggle("Show alerts already seen", value=False)
    try:
        rows = guard.my_alerts(store, principal, context.audit(), include_seen=show_seen)
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    if not rows:
        st.success(
            "No new alerts. Changes that matter to your open cases appear here after a load."
        )
        return
    st.caption(f"{len(rows)} alert(s), newest first.")
    for row in rows:
        with st.container(border=True):
            st.markdown(f"**{literal(row['text'])}**")
            whose = f" · for {row['for_worker']}" if row.get("for_worker") else ""
            st.caption(
                literal(
                    f"{code('alert_kind', row['kind'])} · raised "
                    f"{moment(row['created_at'])} · {row['status']}{whose}"
                )
            )
            left, right = st.columns(2)
            with left:
                context.link_to("record", "Open record", row["child_uid"])
            mine = bool(principal.professional) and row["status"] == "new"
            if mine and right.button("Mark as seen", key=f"seen-{row['uid']}"):
                guard.mark_alert_seen(store, principal, context.audit(), row["uid"])
                st.rerun()
