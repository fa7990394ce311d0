"""Ask a partner: whether another organisation's system knows a child, for a lawful
reason (the same ``$person-info-query`` a partner asks us; audited as ``ask_partner``)."""

from __future__ import annotations

import streamlit as st

from api.client import AskError, ask_as, enquiry, partners_in
from api.settings import api_dir
from api.standard import REASONS
from graph import load_settings
from ui.app import context


def render() -> None:
    st.title("Ask a partner")
    partners = partners_in(api_dir(load_settings())).list()
    if not partners:
        st.info("No partner's credentials are kept here (jigsaw api partners add URL).")
        return
    with st.form("ask_partner"):
        partner = st.selectbox("Partner", partners, format_func=lambda p: p.url, key="ask_to")
        reason = st.selectbox(
            "Lawful reason", REASONS, format_func=lambda r: r.title, key="ask_reason"
        )
        nhs_number = st.text_input("NHS number", key="ask_nhs")
        st.caption("Or, without an NHS number:")
        given = st.text_input("Given name", key="ask_given")
        family = st.text_input("Family name", key="ask_family")
        birth_date = st.text_input("Birth date (YYYY-MM-DD)", key="ask_dob")
        sent = st.form_submit_button("Ask")
    if not sent:
        return
    try:
        request = enquiry(
            reason.uri,
            nhs_number=nhs_number.strip(),
            given=given.strip(),
            family=family.strip(),
            birth_date=birth_date.strip(),
        )
        answer = ask_as(context.current_user(), context.audit(), partner, request)
    except (AskError, PermissionError, ValueError) as exc:
        st.text(f"Not asked: {exc}")
        return
    st.text("\n".join(answer.lines()))
