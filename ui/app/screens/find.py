"""Find a child: by name (typo-tolerant), date of birth, UPN, NHS number or council id.
Each result links to the record and says whether the child is on your caseload.

A result is two elements, its link and one line about the child: laid out as a row of
six columns, each result was a row block, six column blocks and six elements, and
Streamlit's making and sending of each was most of the page's own work with many
sessions (benchmarks/README.md, "Fifty users at county scale")."""

from __future__ import annotations

import streamlit as st

from graph.access import guard
from ui.app import context
from ui.app.plain import literal
from ui.present.words import day

HELD = {"yours": "on your caseload", "team": "on your team's caseload"}


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
    for r in results:
        context.link_to("record", r["name"] or "Name not known", r["uid"], or_text=True)
        st.caption(literal(about(r)))
    st.caption(literal("Not on your caseload: the record opens as a limited view."))


def about(result: dict) -> str:
    """One line under a result's name: born, age, school, area, whose caseload."""
    born = day(result.get("dob"))
    parts = [
        f"born {born}" + ("" if result["age"] is None else f", age {result['age']}")
        if born
        else "date of birth not known",
        result["school"] or "",
        result["district"] or "",
        HELD.get(result.get("held") or "", ""),
    ]
    return " · ".join(p for p in parts if p)
