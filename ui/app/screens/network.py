"""Family network: who is around a child, as it was on a date."""

from __future__ import annotations

import datetime as dt

import streamlit as st
import streamlit.components.v1 as components

from graph import views
from graph.access import guard
from ui import network as drawing
from ui.app import context
from ui.app.plain import literal


def render() -> None:
    st.header("Family network")
    uid = st.text_input(
        "Child id", value=st.session_state.get("child", ""), key="network_uid"
    ).strip()
    if not uid:
        st.info("Find a child first, or paste their id.")
        return
    c1, c2 = st.columns(2)
    depth = c1.slider("Steps", 1, 3, 2)
    as_of = c2.date_input("As at", value=dt.date.today())
    types = st.multiselect("Relationships", views.NETWORK_TYPES, default=list(views.DEFAULT_TYPES))
    labels = st.multiselect("Node types", views.NETWORK_LABELS, default=list(views.NETWORK_LABELS))
    try:
        net = guard.family_network(
            context.store(),
            context.current_user(),
            context.audit(),
            uid,
            depth=depth,
            as_of=as_of,
            types=tuple(types),
            labels=tuple(labels),
        )
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    if not net["nodes"]:
        st.info("No one with that id.")
        return
    st.caption(
        f"{len(net['nodes'])} nodes, {len(net['edges'])} links. Double-click a child "
        "to open their record."
    )
    st.markdown(
        "Legend: "
        + " · ".join(
            f"<span style='color:{colour}'>●</span> {name} ({shape})"
            for name, colour, shape in drawing.legend()
        ),
        unsafe_allow_html=True,
    )
    if net.get("warnings"):
        st.warning(
            "Data-quality warnings about people shown:\n"
            + "\n".join(f"- {literal(w['text'])}" for w in net["warnings"])
        )
    components.html(drawing.render(net, focus=uid), height=640)
    children = [n for n in net["nodes"] if n.get("child") and n["uid"] != uid]
    if children:
        pick = st.selectbox(
            "Open a child's record", [""] + [f"{n['name']} ({n['uid']})" for n in children]
        )
        if pick:
            context.open_child(pick.rsplit("(", 1)[1].rstrip(")"))
