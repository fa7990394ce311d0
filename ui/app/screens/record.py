"""Single view of a child: everything agencies know, as the viewer's role may see it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph import views
from graph.access import guard
from graph.access.policy import BreakGlass, Restricted, load_policy
from ui.app import context
from ui.app.plain import literal

FLAGS = (
    ("EHCP", "EHC plan"),
    ("SEN support", "SEN support"),
    ("CIN", "Child in need"),
    ("CP", "Child protection"),
    ("CLA", "Looked after"),
    ("YJ", "Youth justice"),
)


def _show(value: object) -> str:
    if isinstance(value, Restricted):
        return "restricted"
    return "" if value is None else str(value)


def render() -> None:
    st.header("Child record")
    uid = st.query_params.get("child") or st.session_state.get("child")
    uid = st.text_input("Child id", value=uid or "", key="record_uid").strip()
    if not uid:
        st.info("Find a child first, or paste their id.")
        return
    st.session_state["child"] = uid
    glass = st.session_state.get(f"glass-{uid}")
    try:
        rec = _fetch(uid, glass)
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    except PermissionError as exc:  # the break-glass reason was not accepted: ask again
        st.session_state.pop(f"glass-{uid}", None)
        st.error(literal(exc))
        glass, rec = None, _fetch(uid, None)
    if rec is None:
        st.error(f"No one has the id {literal(uid)}.")
        return
    person = rec["person"]
    st.subheader(literal(_show(person.get("full_name"))))
    access = rec["access"]
    if access["break_glass"]:
        st.warning(f"Opened with break glass: {literal(access['reason'])} (audited)")
    elif not access["full"]:
        st.info(f"Limited view: {literal(access['reason'])}.")
        _break_glass_form(uid)
    ids = {
        k: _show(person.get(k)) for k in ("dob", "sex", "upn", "nhs_number", "uln", "la_child_id")
    }
    st.write(" · ".join(f"**{k}** {literal(v)}" for k, v in ids.items() if v))
    kinds = {c.get("kind") for c in rec["cases"] if c.get("status") == "open"}
    flags = [label for kind, label in FLAGS if kind in kinds]
    flags += sorted({c["flag"] for c in rec["cases"] if c.get("flag")})
    flags += [
        label
        for key, label in (("young_carer", "Young carer"), ("fsm", "Free school meals"))
        if person.get(key) is True
    ]
    if flags:
        st.write(" ".join(f":orange-badge[{f}]" for f in flags))
    if rec.get("warnings"):
        st.warning(
            "Data-quality warnings (the sources contradict each other; check before acting):\n"
            + "\n".join(f"- {literal(w['text'])}" for w in rec["warnings"])
        )
    left, right = st.columns(2)
    with left:
        st.markdown("#### Where they live")
        for a in rec["addresses"]:
            if a["to"] is None:
                st.text(
                    f"{a['line1']}, {a.get('postcode') or ''} (IMD decile "
                    f"{a.get('imd_decile') or '?'})"
                )
                for note in a.get("safety_notes") or []:
                    st.error(f"Visit safety: {literal(note)}")
        st.markdown("#### Family")
        st.dataframe(pd.DataFrame(rec["family"]), hide_index=True) if rec["family"] else st.caption(
            "None known or not shown."
        )
        st.markdown("#### Schools")
        st.dataframe(pd.DataFrame(rec["schools"]), hide_index=True)
    with right:
        st.markdown("#### Cases")
        st.dataframe(
            pd.DataFrame(
                [{k: _show(v) for k, v in c.items() if k != "worker_uids"} for c in rec["cases"]]
            ),
            hide_index=True,
        )
        st.markdown("#### Professionals involved (invite list)")
        st.dataframe(pd.DataFrame(rec["professionals"]), hide_index=True)
        if rec["needs"]:
            st.markdown("#### Needs")
            st.dataframe(pd.DataFrame(rec["needs"]), hide_index=True)
        if rec.get("disabilities"):
            st.markdown("#### Disabilities")
            st.write(", ".join(literal(d["name"]) for d in rec["disabilities"]))
    if rec.get("social_care"):
        st.markdown("#### From the statutory returns")
        st.dataframe(pd.DataFrame(views.social_care_rows(rec["social_care"])), hide_index=True)
    if rec["attendance"]:
        st.markdown("#### Attendance by term")
        frame = pd.DataFrame(rec["attendance"])
        frame["attendance %"] = 100 * (1 - frame["absent"] / frame["possible"].clip(lower=1))
        st.bar_chart(frame, x="term", y="attendance %")
    st.markdown("#### Timeline")
    st.dataframe(pd.DataFrame(rec["timeline"]), hide_index=True)
    asked = guard.partner_enquiries(context.current_user(), context.audit(), uid)
    if asked:
        st.markdown("#### Who asked about this child (partner enquiries)")
        st.dataframe(pd.DataFrame(asked), hide_index=True)
    st.markdown("#### Notes")
    for n in rec["notes"]:
        st.caption(literal(f"{n['at']} — {n['author']} ({n['kind']})"))
        st.text(n["text"])
    if not access["full"]:
        return  # updates only from those who may see the whole record
    with st.form(f"note-{uid}", clear_on_submit=True):
        text = st.text_area("Add an update")
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
                st.success("Saved.")
                st.rerun()
            except (ValueError, LookupError, guard.AccessDenied) as exc:
                st.error(literal(exc))


def _fetch(uid: str, glass: BreakGlass | None) -> dict | None:
    return guard.child_record(
        context.store(), context.current_user(), context.audit(), uid, break_glass=glass
    )


def _break_glass_form(uid: str) -> None:
    """Ask for a lawful purpose and a few words of reason; both are audited with the view."""
    with st.form(f"glass-form-{uid}"):
        purpose = st.selectbox("Lawful purpose", load_policy().break_glass_purposes)
        why = st.text_input("Why do you need the full record now? (audited)")
        if st.form_submit_button("Break glass"):
            st.session_state[f"glass-{uid}"] = BreakGlass(purpose, why)
            st.rerun()
