"""A child's record: who they are, who is around them and what has happened, as the
viewer's role may see it. The family, professionals and safety notes come first, then
one chronology across agencies, filterable by agency and period."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from graph.access import guard
from graph.access.policy import BreakGlass, load_policy
from ui.app import context
from ui.app.plain import literal
from ui.present import chronology as chrono
from ui.present import record as words


def render() -> None:
    uid = context.child_or_pointer(
        "Child record", "Find a child first: their record opens from the search results."
    )
    if not uid:
        return
    glass = st.session_state.get(f"glass-{uid}")
    try:
        rec = fetch(uid, glass)
    except guard.AccessDenied as exc:
        st.title("Child record")
        st.error(literal(exc))
        return
    except PermissionError as exc:  # the break-glass reason was not accepted: ask again
        st.session_state.pop(f"glass-{uid}", None)
        st.session_state[f"glass-problem-{uid}"] = str(exc)
        glass, rec = None, fetch(uid, None)
    if rec is None:
        st.title("Child record")
        st.error("No one has that reference. Find the child by name or identifier instead.")
        context.link_to("find", "Find a child")
        return
    today = dt.date.today()
    st.title(f"Child record: {literal(words.name(rec))}")
    _top(rec, uid, today)
    if not rec["access"]["full"]:
        _break_glass_form(uid)
        return
    _at_a_glance(rec, today)
    chronology, cases, school, notes, asked = st.tabs(
        ["Chronology", "Cases and plans", "Schools and attendance", "Notes", "Who asked"]
    )
    with chronology:
        _chronology(rec, uid)
    with cases:
        context.table(words.cases(rec), empty="No cases you may see.")
        if needs := words.needs(rec):
            st.subheader("Needs")
            context.table(needs)
        if disabilities := words.disabilities(rec):
            st.subheader("Disabilities")
            st.text(", ".join(disabilities))
    with school:
        context.table(words.schools(rec), empty="No schools known.")
        rows = words.attendance(rec)
        if rows:
            st.subheader("Attendance by term")
            st.vega_lite_chart(_attendance_chart(rows))
            context.table(
                [
                    {k: v for k, v in r.items() if k != "Attendance %"}
                    | {
                        "Attendance": f"{r['Attendance %']:.0f}%"
                        if r["Attendance %"] is not None
                        else ""
                    }
                    for r in rows
                ]
            )
    with notes:
        _notes(rec, uid, glass)
    with asked:
        rows = words.enquiries(
            guard.partner_enquiries(context.current_user(), context.audit(), uid)
        )
        context.table(rows, empty="No partner has asked about this child.")


def _attendance_chart(rows: list[dict]) -> dict:
    """A bar a term, as a Vega-Lite spec holding its few values: ``st.bar_chart`` builds
    an Altair chart and converts it to the same kind of spec at every view, a large part
    of a record view's own CPU (benchmarks/README.md, "Fifty users at county scale")."""
    return {
        "data": {"values": [{"term": r["Term"], "percent": r["Attendance %"]} for r in rows]},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "term", "type": "nominal", "sort": None, "title": "Term"},
            "y": {"field": "percent", "type": "quantitative", "title": "Attendance %"},
        },
    }


def fetch(uid: str, glass: BreakGlass | None) -> dict | None:
    return guard.child_record(
        context.store(), context.current_user(), context.audit(), uid, break_glass=glass
    )


def _top(rec: dict, uid: str, today: dt.date) -> None:
    """Identity, involvement, data-quality warnings, and what kind of view this is."""
    line = words.access_line(rec)
    if line:
        (st.warning if line[0] == "warning" else st.info)(literal(line[1]))
    st.markdown(" · ".join(f"**{literal(k)}** {literal(v)}" for k, v in words.identity(rec, today)))
    if flags := words.flags(rec):
        st.markdown(" ".join(f":orange-badge[{literal(f)}]" for f in flags))
    if rec.get("warnings"):
        st.warning(
            "Data-quality warnings (the sources contradict each other; check before acting):\n"
            + "\n".join(f"- {literal(w['text'])}" for w in rec["warnings"])
        )
    if rec["access"]["full"]:
        left, mid, right = st.columns(3)
        with left:
            context.link_to("network", "Family network", uid)
        with mid:
            context.link_to("pack", "Meeting pack (print or PDF)", uid)
        with right:
            context.link_to("find", "Find another child")


def _at_a_glance(rec: dict, today: dt.date) -> None:
    """Home and safety, family, professionals: what a meeting needs first."""
    home, family = st.columns([2, 3])
    with home:
        st.subheader("Home and safety")
        places = words.homes(rec)
        for place in places:
            since = f" (since {place['since']})" if place["since"] else ""
            st.text(f"{place['address']}{since}")
            if place["deprivation"]:
                st.caption(literal(place["deprivation"]))
            for note in place["safety"]:
                st.error(f"Visit safety: {literal(note)}")
        if not places:
            st.caption("No current address known.")
    with family:
        st.subheader("Family")
        context.table(words.family(rec, today), empty="No family known.")
    st.subheader("Professionals involved")
    context.table(words.professionals(rec), empty="No professional holds an open case.")


def _chronology(rec: dict, uid: str) -> None:
    entries = chrono.chronology(rec)
    if not entries:
        st.caption("Nothing dated is known yet.")
        return
    agencies = chrono.agencies(entries)
    left, mid, right = st.columns([3, 1, 1])
    chosen = left.multiselect("Agencies", agencies, default=agencies, key=f"agencies-{uid}")
    first = entries[0]["date"]
    since = mid.date_input(
        "From", value=first, min_value=first, key=f"since-{uid}", format="DD/MM/YYYY"
    )
    until = right.date_input(
        "To",
        value=max(dt.date.today(), entries[-1]["date"]),
        key=f"until-{uid}",
        format="DD/MM/YYYY",
    )
    shown = chrono.only(entries, agencies=chosen, since=since, until=until)
    st.caption(f"{len(shown):,} of {len(entries):,} entries, oldest first.")
    context.table(words.chronology_rows(shown))


def _notes(rec: dict, uid: str, glass: BreakGlass | None) -> None:
    done = st.session_state.pop(f"note-saved-{uid}", None)
    if done:
        st.success(literal(done))
    with st.form(f"note-{uid}", clear_on_submit=True):
        text = st.text_area("Add an update (plain text; signed with your name)")
        if st.form_submit_button("Save note"):
            try:
                guard.add_note(
                    context.store(),
                    context.current_user(),
                    context.audit(),
                    uid,
                    text,
                    break_glass=glass,
                )
            except (ValueError, LookupError, guard.AccessDenied) as exc:
                st.error(literal(exc))
            else:
                st.session_state[f"note-saved-{uid}"] = "Your update is saved on the record."
                st.rerun()
    for n in words.notes(rec):
        with st.container(border=True):
            st.caption(literal(" · ".join(x for x in (n["When"], n["Who"], n["Kind"]) if x)))
            st.text(n["Text"])


def _break_glass_form(uid: str) -> None:
    """Ask for a lawful purpose and a few words of reason; both are audited with the view."""
    st.subheader("Open the full record (break glass)")
    st.caption(
        "Only when you need it now for a lawful purpose. Your reason and the view are "
        "recorded in the audit trail."
    )
    problem = st.session_state.pop(f"glass-problem-{uid}", None)
    with st.form(f"glass-form-{uid}"):
        purpose = st.selectbox("Lawful purpose", load_policy().break_glass_purposes)
        why = st.text_input("Why do you need the full record now?")
        submitted = st.form_submit_button("Break glass")
    if problem:
        st.error(f"The full record was not opened: {literal(problem)}.")
    if submitted:
        if not why.strip():
            st.error("Say why you need the full record now: the reason is required.")
            return
        st.session_state[f"glass-{uid}"] = BreakGlass(purpose, why)
        st.rerun()
