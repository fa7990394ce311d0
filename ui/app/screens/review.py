"""Possible duplicates: decide whether two records are one person, with all of both side
by side; accept, reject or undo, each confirmed and audited (graph.access.guard)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from graph.access import guard
from graph.access.policy import Restricted
from loaders.review import ReviewError
from ui.app import context
from ui.app.plain import literal
from ui.present.words import moment

ASK = "review_confirm"  # session key: the decision waiting for its confirmation


def _show(value: object) -> str:
    if isinstance(value, Restricted):
        return "restricted"
    return "" if value is None else str(value)


def render() -> None:
    st.title("Possible duplicates")
    principal = context.current_user()
    try:
        queue = guard.review_queue(context.store(), principal, context.audit())
    except guard.AccessDenied as exc:
        st.error(literal(exc))
        return
    done = st.session_state.pop("review_done", None)
    if done:
        st.success(literal(done))
    st.caption(
        f"{queue['waiting']:,} pair(s) await a decision, those whose answer changes most "
        "children's family networks first. " + literal(queue["feedback"])
    )
    pending = queue["pending"]
    if pending:
        labels = {
            pair["uid"]: (
                f"{' / '.join(_show(p['name']) for p in pair['people'])} — "
                f"{pair['impact']} child(ren) affected, p={pair['probability']:.2f}"
                + (" — not linked: a rule" if pair.get("reason") else "")
            )
            for pair in pending
        }
        chosen = st.radio(
            "Pair to decide",
            list(labels),
            format_func=lambda uid: literal(labels[uid]),
            key="review_pair",
        )
        if chosen:
            _pair(chosen)
    else:
        st.info("No pairs await a decision.")
    _recent(queue["recent"])


def _pair(uid: str) -> None:
    try:
        pair = guard.review_pair(context.store(), context.current_user(), context.audit(), uid)
    except (guard.AccessDenied, ReviewError) as exc:
        st.error(literal(exc))
        return
    if pair.get("reason"):
        st.warning(f"Linkage did not join these: {literal(pair['reason'])}.")
    st.markdown(f"**Why they may be one person:** {literal(pair.get('evidence') or '')}")
    sides = pair["sides"]
    names = [_show(s["person"].get("full_name")) or s["person"]["uid"] for s in sides]
    fields = pd.DataFrame(
        [
            {"field": f["field"], **{n: _show(v) for n, v in zip(names, f["values"], strict=False)},
             "agree": f["same"]}
            for f in pair["fields"]
            if any(v is not None for v in f["values"])
        ]
    )  # fmt: skip
    st.dataframe(fields, hide_index=True)
    for column, side in zip(st.columns(len(sides)), sides, strict=True):
        with column:
            st.markdown(f"#### {literal(_show(side['person'].get('full_name')))}")
            st.caption(literal(side["person"]["uid"]))
            st.markdown("**Addresses**")
            for a in side["addresses"]:
                since = a.get("from") or "?"
                until = a.get("to") or "now"
                st.text(f"{a.get('line1') or ''}, {a.get('postcode') or ''} ({since} to {until})")
            st.markdown("**Family**")
            for m in side["family"]:
                mark = " (on both sides)" if m.get("shared") else ""
                st.text(f"{m.get('relation')}: {m.get('name')} ({m.get('dob') or '?'}){mark}")
            st.markdown("**Source records**")
            st.dataframe(pd.DataFrame(side["sources"]), hide_index=True)
    status = pair["status"]
    if status != "pending":
        st.info(f"This pair was {literal(status)}.")
        return
    asked = st.session_state.get(ASK)
    if asked and asked[0] == uid:
        verb = "merge these two into one person" if asked[1] else "keep these two apart"
        st.warning(f"Confirm: {verb}? Every later load will do the same; you can undo it.")
        yes, no = st.columns(2)
        if yes.button("Confirm", key=f"confirm-{uid}"):
            st.session_state.pop(ASK, None)
            _decide(uid, asked[1], " and ".join(names))
        if no.button("Cancel", key=f"cancel-{uid}"):
            st.session_state.pop(ASK, None)
            st.rerun()
        return
    same, different = st.columns(2)
    if same.button("Same person", key=f"acc-{uid}"):
        st.session_state[ASK] = (uid, True)
        st.rerun()
    if different.button("Different people", key=f"rej-{uid}"):
        st.session_state[ASK] = (uid, False)
        st.rerun()


def _decide(uid: str, accept: bool, who: str) -> None:
    try:
        guard.decide_review(
            context.store(), context.current_user(), context.audit(), uid, accept=accept
        )
    except (guard.AccessDenied, ReviewError) as exc:  # e.g. a load is writing: try again
        st.warning(literal(exc))
        return
    st.session_state["review_done"] = (
        f"Merged {who} into one person." if accept else f"Kept {who} apart."
    ) + " The decision is recorded and can be undone below."
    st.rerun()


def _recent(recent: list[dict]) -> None:
    if not recent:
        return
    st.subheader("Recent decisions")
    for row in recent:
        cols = st.columns([6, 2, 2])
        names = " / ".join(sorted({_show(n) for n in row["names"] if n}))
        when = moment(row["decided_at"])
        cols[0].text(f"{names}: {row['status']} by {row['decided_by']} on {when}")
        asked = st.session_state.get(ASK)
        if asked == (row["uid"], "undo"):
            if cols[1].button("Confirm undo", key=f"undo-yes-{row['uid']}"):
                st.session_state.pop(ASK, None)
                try:
                    guard.undo_review(
                        context.store(), context.current_user(), context.audit(), row["uid"]
                    )
                except (guard.AccessDenied, ReviewError) as exc:
                    st.warning(literal(exc))
                    continue
                st.session_state["review_done"] = f"Undone: {names} are back in the queue" + (
                    ", as two people." if row["status"] == "accepted" else "."
                )
                st.rerun()
            if cols[2].button("Cancel", key=f"undo-no-{row['uid']}"):
                st.session_state.pop(ASK, None)
                st.rerun()
        elif cols[1].button("Undo", key=f"undo-{row['uid']}"):
            st.session_state[ASK] = (row["uid"], "undo")
            st.rerun()
