"""Find a child: by name (typo-tolerant), date of birth, UPN, NHS number or LA id."""

from __future__ import annotations

import streamlit as st

from graph.access import guard
from ui.app import context


def render() -> None:
    st.header("Find a child")
    text = st.text_input(
        "Name, date of birth (dd/mm/yyyy), UPN, NHS number or LA id", key="find_text"
    )
    if not text:
        return
    results = guard.search(context.store(), context.current_user(), context.audit(), text)
    if not results:
        st.info("No one matches. Try fewer letters of the name, or an identifier.")
        return
    st.caption(f"{len(results)} match(es): age, school and postcode district only.")
    for r in results:
        cols = st.columns([3, 1, 3, 1, 1])
        cols[0].text(r["name"])
        cols[1].text("" if r["age"] is None else f"{r['age']}")
        cols[2].text(r["school"] or "")
        cols[3].text(r["district"] or "")
        if cols[4].button("Open", key=f"open-{r['uid']}"):
            context.open_child(r["uid"])
