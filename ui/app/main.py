"""Jigsaw's Streamlit app: sign-in, then the pages the user's role may open.

Every request starts here: the session is checked (account still enabled, not idle)
before any page runs. A signed-out request is answered by the sign-in form at whatever
address was asked for (``/record?child=...``), so once signed in the same address opens
the page it names; the sidebar never keeps the previous user's pages.
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
    pack,
    planning,
    queries,
    record,
    review,
)

private_umask()  # what the app writes (audit trail, embedded engine) is its owner's only
st.set_page_config(page_title="Jigsaw", layout="wide")

# action, page, title, address, shown in the sidebar
PAGES = [
    ("view_alerts", home.render, "My alerts", "home", True),
    ("search", find.render, "Find a child", "find", True),
    ("view_child", record.render, "Child record", "record", True),
    ("view_child", pack.render, "Meeting pack", "pack", False),
    ("view_network", network.render, "Family network", "network", True),
    ("search", ask.render, "Ask a partner", "ask", True),
    ("run_query", queries.render, "Saved queries", "queries", True),
    ("view_caseload", caseload.render, "Caseload map", "caseload", True),
    ("plan_ahead", planning.render, "Planning ahead", "planning", True),
    ("view_data", data.render, "Data", "data", True),
    ("review_linkage", review.render, "Possible duplicates", "review", True),
    ("read_audit", audit.render, "Audit trail", "audit", True),
]

principal = context.session_principal()
if principal is None:
    # the sign-in form answers at every page's address, so a link to a page (with its
    # child) is still the address once the user has signed in
    paths = dict.fromkeys(["sign-in"] + [path for *_rest, path, _shown in PAGES])
    st.navigation(
        [
            st.Page(context.sign_in_form, title="Sign in", url_path=path, default=not i)
            for i, path in enumerate(paths)
        ],
        position="hidden",
    ).run()
    st.stop()

context.hide_chart_exports()
with st.sidebar:
    st.write(f"Signed in as **{literal(principal.username)}** ({principal.rules.title})")
    if demo_mode():
        context.demo_banner()
    if st.button("Sign out"):
        context.end_session(principal, "sign_out")
        st.rerun()

permitted = [row for row in PAGES if allowed(principal, row[0])]
# an older deep link (?page=record&child=...) opens that page first
wanted = st.query_params.get("page")
if wanted not in {row[3] for row in permitted}:
    wanted = next((row[3] for row in permitted if row[4]), None)
pages = [
    st.Page(
        fn,
        title=title,
        url_path=path,
        default=path == wanted,
        visibility="visible" if shown else "hidden",
    )
    for _action, fn, title, path, shown in permitted
]
context.PAGES.clear()
context.PAGES.update({page.url_path: page for page in pages})
if not pages:
    st.title("Jigsaw")
    st.info("Your role has no pages in this app.")
    st.stop()
st.navigation(pages).run()
