"""What every page needs: the store, the audit trail, the signed-in user.

Kept apart from the pages so they stay thin and so tests can point the app at a test
graph through the usual ``JIGSAW_*`` settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from graph import GraphStore, load_settings, open_store
from graph.access.accounts import Accounts, demo_mode
from graph.access.audit import AuditLog
from graph.access.policy import Principal

PAGES: dict[str, object] = {}  # url path -> st.Page, set by main on every run


def open_child(uid: str) -> None:
    """Go to a child's record (from search results, queries or the network)."""
    st.session_state["child"] = uid
    page = PAGES.get("record")
    if page is not None:
        st.switch_page(page)


def store() -> GraphStore:
    settings = load_settings()
    return _store(settings.graph_url, str(settings.data_dir), settings.graph_name)


@st.cache_resource
def _store(graph_url: str, data_dir: str, graph_name: str) -> GraphStore:
    """One store per engine location for the whole server (cached across sessions)."""
    return open_store(load_settings())


def data_dir() -> Path:
    return load_settings().data_dir


def audit() -> AuditLog:
    return _audit(str(data_dir()))


@st.cache_resource
def _audit(directory: str) -> AuditLog:
    return AuditLog(Path(directory) / "audit" / "audit.jsonl")


def accounts() -> Accounts:
    return Accounts(data_dir() / "users.json")


def sso_configured() -> bool:
    """Single sign-on is on when .streamlit/secrets.toml has an [auth] section."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def current_user() -> Principal | None:
    """The signed-in principal: a local account, or an OIDC sign-in (st.login) whose
    email has an account here (``jigsaw users add EMAIL --role R --sso``)."""
    principal = st.session_state.get("principal")
    if principal is None and sso_configured() and st.user.is_logged_in:
        principal = accounts().principal_for_sso(st.user.get("email"))
        if principal is not None:
            st.session_state["principal"] = principal
            audit().record(
                user=principal.username,
                role=principal.role,
                action="sign_in",
                detail={"via": "oidc"},
            )
    return principal


def sign_in_form() -> None:
    st.title("Jigsaw")
    st.caption("A single record of every child. Sign in to continue.")
    if demo_mode():
        demo_banner(show_accounts=True)
    if sso_configured():
        if st.user.is_logged_in:
            st.error(
                "You are signed in with your council account, but it has no Jigsaw "
                "account: ask an administrator."
            )
        st.button("Sign in with your council account", on_click=st.login)
    with st.form("sign-in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in"):
            principal = accounts().authenticate(username, password)
            if principal is None:
                st.error("That username and password do not match an active account.")
            else:
                st.session_state["principal"] = principal
                audit().record(user=principal.username, role=principal.role, action="sign_in")
                st.rerun()


def demo_banner(*, show_accounts: bool = False) -> None:
    st.warning("Demo mode: synthetic data, demo accounts. Not for real records.")
    path = data_dir() / "demo-accounts.json"
    if show_accounts and path.exists():
        made = json.loads(path.read_text())
        st.table(
            [
                {"username": a["username"], "password": a["password"], "role": a["role"]}
                for a in made
            ]
        )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV with spreadsheet formula injection neutralised and restricted values as words."""
    from graph.access.fields_export import safe_row

    safe = pd.DataFrame(
        [safe_row(r) for r in frame.astype(str).itertuples(index=False)], columns=frame.columns
    )
    return safe.to_csv(index=False).encode()


def download_csv(frame: pd.DataFrame, file_name: str, detail: dict[str, Any]) -> None:
    """A CSV download button whose click is an audited export (with the children in it)."""
    principal = current_user()
    children = sorted(
        {str(v) for c in frame.columns if c.endswith("child_uid") for v in frame[c].dropna()}
    )
    st.download_button(
        "Download CSV",
        csv_bytes(frame),
        file_name=file_name,
        mime="text/csv",
        key=f"download-{file_name}",
        on_click=lambda: audit().record(
            user=principal.username,
            role=principal.role,
            action="export",
            children=children,
            detail={"rows": len(frame), **detail},
        ),
    )
