"""Jigsaw's Streamlit app: sign-in, then the pages the user's role may open.

Every request starts here: the session is checked (account still enabled, not idle)
before any page runs, and a signed-out request gets a navigation of the sign-in page
alone, so the sidebar never keeps the previous user's pages.
"""

from __future__ import annotations

import streamlit as st

from graph.access.accounts import demo_mode
from graph.access.policy import allowed
from graph.files import private_umask
from ui.app import context
from ui.app.plain import literal
from ui.app.screens import (
    ask,
    audit,
    caseload,
    data,
    find,
    home,
    network,
    planning,
    queries,
    record,
    review,
)

private_umask()  # what the app writes (audit trail, embedded engine) is its owner's only
st.set_page_config(page_title="Jigsaw", layout="wide")

principal = context.session_principal()
if principal is None:
    st.navigation(
        [st.Page(context.sign_in_form, title="Sign in", url_path="sign-in")], position="hidden"
    ).run()
    st.stop()

# Charts' own picture and spec exports are not offered either (the spec holds the
# chart's data); tables' are off by client.disableDataExport. The app's audited
# download button is the one way data leaves as a file.
st.html(
    "<style>"
    + ", ".join(f'[data-testid="stElementToolbar"] button[aria-label="{label}"]'
                for label in ("Download as PNG", "Copy Vega-Lite spec", "Copied!"))
    + " {display: none !important}</style>"
)  # fmt: skip

with st.sidebar:
    st.write(f"Signed in as **{literal(principal.username)}** ({principal.rules.title})")
    if demo_mode():
        context.demo_banner()
    if st.button("Sign out"):
        context.end_session(principal, "sign_out")
        st.rerun()

PAGES = [
    ("view_alerts", home.render, "My alerts", "home"),
    ("search", find.render, "Find a child", "find"),
    ("view_child", record.render, "Child record", "record"),
    ("view_network", network.render, "Family network", "network"),
    ("search", ask.render, "Ask a partner", "ask"),
    ("run_query", queries.render, "Saved queries", "queries"),
    ("view_caseload", caseload.render, "Caseload map", "caseload"),
    ("plan_ahead", planning.render, "Planning ahead", "planning"),
    ("view_data", data.render, "Data", "data"),
    ("review_linkage", review.render, "Possible duplicates", "review"),
    ("read_audit", audit.render, "Audit trail", "audit"),
]
permitted = [(fn, title, path) for action, fn, title, path in PAGES if allowed(principal, action)]
# a deep link (?page=record&child=P-...) opens that page first
wanted = st.query_params.get("page")
if wanted not in {path for _fn, _title, path in permitted}:
    wanted = permitted[0][2] if permitted else None
pages = [
    st.Page(fn, title=title, url_path=path, default=path == wanted) for fn, title, path in permitted
]
context.PAGES.clear()
context.PAGES.update({page.url_path: page for page in pages})
if not pages:
    st.info("Your role has no pages in this app.")
    st.stop()
st.navigation(pages).run()
