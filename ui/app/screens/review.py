"""Possible duplicates: decide whether two records are one person, with all of both side
by side; accept, reject or undo, each confirmed and audited (graph.access.guard)."""

from __future__ import annotations

import streamlit as st

from graph.access import guard
from graph.review_queue import ReviewError
from ui.app import context
from ui.app.plain import literal
from ui.present import review as words
from ui.present.words import plural

ASK = "review_confirm"  # session key: the decision waiting for its confirmation


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
        f"{plural(queue['waiting'], 'pair')} await a decision, those whose answer "
        "changes most children's family networks first. " + literal(queue["feedback"])
    )
    pending = queue["pending"]
    if pending:
        labels = {pair["uid"]: words.queue_label(pair, i) for i, pair in enumerate(pending, 1)}
        chosen = st.selectbox(  # a list of 25 would push the pair below the fold
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
    st.subheader("Is this one person?")
    st.markdown(
        f"Linkage: **{literal(words.likelihood(pair.get('probability')))}**. Deciding "
        f"{literal(words.impact(pair.get('impact')))}."
    )
    if pair.get("reason"):
        st.warning(f"Linkage did not join these: {literal(words.reason(pair))}.")
    _evidence(pair)
    heads = words.headings(pair)
    for title, rows in words.side_by_side(pair, heads).items():
        if rows:
            st.markdown(f"**{title}**")
            context.table(rows)
    relatives = words.relatives(pair)
    for column, side, head, family in zip(
        st.columns(len(pair["sides"])), pair["sides"], heads, relatives, strict=False
    ):
        with column:
            _side(side, head, family)
    status = pair["status"]
    if status != "pending":
        st.info(f"This pair was {literal(words.status(status))}.")
        return
    _ask(uid, " and ".join(heads))


def _evidence(pair: dict) -> None:
    same, different = words.agreement(pair)
    found = words.evidence(pair)
    if found is None:
        st.markdown(f"**The linkage evidence** quotes names and dates of birth, {words.WITHHELD}.")
    else:
        good, bad = found
        st.markdown("**For one person:** " + literal("; ".join(good) or "nothing"))
        if bad:
            st.markdown("**Against:** " + literal("; ".join(bad)))
    st.markdown(
        "**Held the same by both:** "
        + literal(", ".join(same) or "nothing")
        + (("; **held differently:** " + literal(", ".join(different))) if different else "")
    )


def _side(side: dict, head: str, family: list[dict]) -> None:
    st.markdown(f"#### {literal(head)}")
    if held := words.held_in(side):
        st.caption(f"Known to: {literal(held)}")
    st.markdown("**Addresses**")
    if side.get("addresses_withheld"):
        n = plural(side["addresses_withheld"], "address", "addresses")
        st.text(f"{n}, {words.WITHHELD}.")
    for line in words.addresses(side):
        st.text(line)
    if not side["addresses"] and not side.get("addresses_withheld"):
        st.text("No address known.")
    st.markdown("**Relatives**")
    context.table(family, empty="No relatives known.")
    st.markdown("**Read from**")
    context.table(words.sources(side), empty="No source rows.")


def _ask(uid: str, who: str) -> None:
    asked = st.session_state.get(ASK)
    if asked and asked[0] == uid:
        verb = "merge these two into one person" if asked[1] else "keep these two apart"
        st.warning(f"Confirm: {verb}? Every later load will do the same; you can undo it.")
        yes, no = st.columns(2)
        if yes.button("Confirm", key=f"confirm-{uid}"):
            st.session_state.pop(ASK, None)
            _decide(uid, asked[1], who)
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
        names = words.names([{"name": n} for n in row["names"]], once=True)
        cols[0].text(words.decision(row))
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
