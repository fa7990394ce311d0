"""What every page needs: the store, the audit trail, the signed-in user, downloads.

Kept apart from the pages so they stay thin and so tests can point the app at a test
graph through the usual ``JIGSAW_*`` settings. :func:`session_principal` is the
session's gate, run by main.py on every request: it ends the session when its account
is disabled or removed, or after ``session_idle_minutes`` without a request.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from graph import GraphStore, open_store, views
from graph.access import guard
from graph.access.accounts import Accounts, demo_mode
from graph.access.audit import AuditLog, audit_log
from graph.access.fields_export import safe_row
from graph.access.policy import Principal
from graph.access.signin import Door, SignInRefused
from graph.settings import Settings, config_file, load_settings
from ui.app.plain import literal

PAGES: dict[str, object] = {}  # url path -> st.Page, set by main on every run


def open_child(uid: str, page: str = "record") -> None:
    """Go to a child's record (or their ``page``: network, pack), the child in the address."""
    st.session_state["child"] = uid
    target = PAGES.get(page)
    if target is not None:
        st.switch_page(target, query_params={"child": uid})


def viewer_name() -> str:
    """Who is using the app, as a meeting pack names them: their professional's name
    when the account is linked to one, else the account's name."""
    principal = current_user()
    if principal is None:
        return ""
    return views.professional_name(store(), principal.professional) or principal.username


def chosen_child() -> str:
    """The child this page is about: the address's ``?child=``, else the one last
    opened; the address is then made to show it, so it can be copied or bookmarked."""
    uid = (st.query_params.get("child") or st.session_state.get("child") or "").strip()
    if uid:
        st.session_state["child"] = uid
        if st.query_params.get("child") != uid:
            st.query_params["child"] = uid
    return uid


def child_or_pointer(title: str, why: str) -> str:
    """The chosen child (``chosen_child``); with none, the page's title, ``why`` it needs
    one and a link to Find a child, and "" (the page then stops)."""
    uid = chosen_child()
    if not uid:
        st.title(title)
        st.info(why)
        link_to("find", "Find a child")
    return uid


def link_to(page: str, label: str, uid: str | None = None, *, or_text: bool = False) -> None:
    """A real link to one of the app's pages (keyboard and screen-reader friendly), for
    a child when ``uid`` is given. When the role may not open the page: nothing, or the
    label as plain text (``or_text``, for names in lists)."""
    target = PAGES.get(page)
    if target is None:
        if or_text:
            st.text(label)
        return
    st.page_link(target, label=literal(label), query_params={"child": uid} if uid else None)


def table(rows: list[dict[str, Any]], *, empty: str = "", columns: list[str] | None = None) -> None:
    """A static table of text that wraps (nothing cut off on the right), every cell
    shown as itself (st.table reads Markdown, so each cell goes through literal; a
    missing value as nothing). Cells are made text, column by column, straight into the
    Arrow table Streamlit sends: a pandas frame between them (its construction, then
    its conversion to Arrow, column types inferred) cost more than the page's reads."""
    if not rows:
        if empty:
            st.caption(empty)
        return
    names = columns or list(rows[0])
    cells = pa.Table.from_arrays(
        [pa.array([literal(row.get(c)) for row in rows], type=pa.string()) for c in names],
        names=[literal(c) for c in names],
    )
    st.table(cells, hide_index=True, border="horizontal")


def hide_chart_exports() -> None:
    """Charts' own picture and spec exports are not offered (the spec holds the chart's
    data); tables' are off by client.disableDataExport. The app's audited download
    button is the one way data leaves as a file."""
    st.html(
        "<style>"
        + ", ".join(
            f'[data-testid="stElementToolbar"] button[aria-label="{label}"]'
            for label in ("Download as PNG", "Copy Vega-Lite spec", "Copied!")
        )
        + " {display: none !important}</style>"
    )


def settings() -> Settings:
    """The settings (``graph.load_settings``), read again only when the ``JIGSAW_*``
    environment or the settings file changed: a page asks for them several times a
    request, and reading them means pydantic over the environment and the file."""
    config = config_file().absolute()
    try:
        stat = config.stat()
        seen: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        seen = None
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("JIGSAW_")))
    return _settings(env, str(config), seen)


@functools.lru_cache(maxsize=8)
def _settings(env: tuple[tuple[str, str], ...], config: str, seen: object) -> Settings:
    return load_settings()


def store() -> GraphStore:
    now = settings()
    return _store(now.graph_url, str(now.data_dir), now.graph_name)


@st.cache_resource
def _store(graph_url: str, data_dir: str, graph_name: str) -> GraphStore:
    """One store per engine location for the whole server (cached across sessions)."""
    return open_store(settings())


def data_dir() -> Path:
    return settings().data_dir


def audit() -> AuditLog:
    now = settings()
    return _audit(str(now.data_dir), now.audit_syslog)


@st.cache_resource
def _audit(directory: str, witness: str) -> AuditLog:
    return audit_log(Path(directory), witness)


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
            _start_session(principal, {"via": "oidc"})
    return principal


def session_principal() -> Principal | None:
    """The principal for this request, after checking the session is still good: the
    account is re-read (so a disabled account is signed out at once, and a changed role
    applies at once) and an idle session ends. Runs on every request (main.py)."""
    principal = current_user()
    if principal is None:
        return None
    now = time.time()
    idle_s = settings().session_idle_minutes * 60
    if now - st.session_state.get("last_seen", now) > idle_s:
        end_session(
            principal,
            "session_expired",
            f"Signed out after {idle_s // 60} minutes without activity.",
        )
        return None
    live = accounts().current(principal.username)
    if live is None:
        end_session(principal, "session_ended", "Your account is no longer active.")
        return None
    st.session_state["principal"] = live
    st.session_state["last_seen"] = now
    return live


def end_session(principal: Principal, action: str, message: str = "") -> None:
    """Sign out: audited, session state cleared, the identity provider's session too."""
    audit().record(user=principal.username, role=principal.role, action=action)
    st.session_state.clear()
    if message:
        st.session_state["signed_out_because"] = message
    if sso_configured() and st.user.is_logged_in:
        st.logout()


def _start_session(principal: Principal, detail: dict[str, Any]) -> None:
    st.session_state["principal"] = principal
    st.session_state["last_seen"] = time.time()
    st.session_state.pop("signed_out_because", None)
    audit().record(user=principal.username, role=principal.role, action="sign_in", detail=detail)


def client_address() -> str:
    """The browser's address as the server sees it (None on localhost)."""
    try:
        return st.context.ip_address or "local"
    except Exception:
        return "local"


def sign_in_form() -> None:
    st.title("Jigsaw")
    st.caption("A single record of every child. Sign in to continue.")
    why = st.session_state.get("signed_out_because")
    if why:
        st.info(why)
    if demo_mode():
        demo_banner()
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
            door = Door.of(settings())
            try:
                principal = door.sign_in(username, password=password, address=client_address())
            except SignInRefused as exc:
                st.error(literal(str(exc)))
            else:
                _start_session(principal, {"via": "password", "address": client_address()})
                st.rerun()


def demo_banner() -> None:
    st.warning(
        "Demo mode: synthetic data, demo accounts. Not for real records. The demo "
        "accounts' passwords were printed once, in the terminal that ran jigsaw demo."
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV with spreadsheet formula injection neutralised and restricted values as words."""
    safe = pd.DataFrame(
        [safe_row(r) for r in frame.astype(str).itertuples(index=False)], columns=frame.columns
    )
    return safe.to_csv(index=False).encode()


def children_in(frame: pd.DataFrame) -> list[str]:
    """The children a table shown to the signed-in user names (guard.children_named):
    an analyst's by pseudonym are the children behind them."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return guard.children_named(store(), current_user(), rows)


def download_csv(
    frame: pd.DataFrame | Callable[[], pd.DataFrame],
    file_name: str,
    detail: dict[str, Any],
    *,
    children: Iterable[str] | None = None,
    action: str = "export",
) -> None:
    """The app's download of a table: a CSV made only when the button is clicked,
    audited then (with the children in it, taken from the table unless given), formulas
    neutralised. ``frame`` may be a function making the table, for tables too big to
    build on every run (then say which ``children`` it holds). Tables' own download
    controls are off (client.disableDataExport), so this is the only way data leaves the
    app as a file."""
    if children is None and callable(frame):
        raise ValueError("say which children a table made on click holds")
    named = children if children is not None else children_in(frame)  # type: ignore[arg-type]

    def made() -> tuple[bytes, dict[str, Any]]:
        table = frame() if callable(frame) else frame
        return csv_bytes(table), {"rows": len(table)}

    download(made, file_name, "text/csv", "Download CSV", detail, children=named, action=action)


def download(
    make: Callable[[], tuple[bytes, dict[str, Any]]],
    file_name: str,
    mime: str,
    label: str,
    detail: dict[str, Any],
    *,
    children: Iterable[str],
    action: str = "export",
) -> None:
    """The one audited download: ``make`` builds the file only when the button is
    clicked, and the export is audited then, naming the file and the children in it
    (``make`` also says what the file held, e.g. its rows, for the entry)."""
    principal = current_user()
    log = audit()
    named = sorted(set(children))

    def made_on_click() -> bytes:
        data, about = make()
        log.record(
            user=principal.username,
            role=principal.role,
            action=action,
            children=named,
            detail={**about, "file": file_name, **detail},
        )
        return data

    st.download_button(
        label,
        made_on_click,
        file_name=file_name,
        mime=mime,
        key=f"download-{file_name}",
        on_click="ignore",
    )
