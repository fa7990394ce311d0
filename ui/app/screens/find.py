"""Find a child: by name (typo-tolerant), date of birth, UPN, NHS number or council id.
Each result links to the record and says whether the child is on your caseload."""

from __future__ import annotations

import streamlit as st

from graph.access import guard
from ui.app import context
from ui.app.plain import literal
from ui.present.words import day

HELD = {"yours": "Your caseload", "team": "Your team's caseload"}
WIDTHS = [3, 2, 1, 3, 1, 2]


FIND_LABEL = "Name, date of birth (dd/mm/yyyy), UPN, NHS number or council id"


def render() -> None:
    st.title("Find a child")
    text = st.text_input(FIND_LABEL, key="find_text")
    if not text:
        return
    results = guard.search(context.store(), context.current_user(), context.audit(), text)
    if not results:
        st.info("No one matches. Try fewer letters of the name, or an identifier.")
        return
    st.caption(f"{len(results)} match(es). Open a record to see more.")
    header = st.columns(WIDTHS)
    for col, label in zip(
        header, ("Name", "Date of birth", "Age", "School", "Area", "Caseload"), strict=True
    ):
        col.markdown(f"**{label}**")
    for r in results:
        cols = st.columns(WIDTHS)
        with cols[0]:
            context.link_to("record", r["name"] or "Name not known", r["uid"], or_text=True)
        cols[1].text(day(r.get("dob")))
        cols[2].text("" if r["age"] is None else str(r["age"]))
        cols[3].text(r["school"] or "")
        cols[4].text(r["district"] or "")
        cols[5].text(HELD.get(r.get("held") or "", ""))
    st.caption(literal("Not on your caseload: the record opens as a limited view."))
