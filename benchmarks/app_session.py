"""One app session as a browser holds it, over Streamlit's own websocket protocol.

A browser session is a websocket to ``/_stcore/stream``: the client sends a
``rerun_script`` message (the page, the query string, every widget's value) and the
server runs the page and streams back its elements until ``script_finished``. This
client does the same with Streamlit's own protobuf messages, so a load test drives the
real server (sign-in, session checks, the pages, their audit) at the cost of a socket
per user rather than a browser per user (50 headless browsers do not fit on two cores).
Widgets are found by their labels in what the server sent, as a person finds them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

from graph.access.policy import NOT_HELD

WIDGETS = ("text_input", "selectbox", "button", "date_input", "number_input", "text_area")


class AppError(RuntimeError):
    """The page failed: an exception shown, or no answer in time."""


@dataclass
class Rendered:
    """What one run of a page sent: its widgets by label, its text, any exception."""

    widgets: dict[str, tuple[str, Any]] = field(default_factory=dict)  # label -> (kind, proto)
    text: list[str] = field(default_factory=list)
    exception: str = ""
    status: str = ""


def refused(shown: Rendered) -> bool:
    """Whether the page refused its child as not on the user's caseload (in the app's
    words, :data:`~graph.access.policy.NOT_HELD`; a page's text is Markdown-escaped)."""
    return any(NOT_HELD in t.replace("\\", "") for t in shown.text)


class AppSession:
    """A websocket session with the app at ``url`` (http://host:port)."""

    def __init__(self, url: str, *, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self.ws = websocket.create_connection(
            ws_url, timeout=timeout, subprotocols=["streamlit"], origin=self.url
        )
        self.values: dict[str, WidgetState] = {}  # widget id -> the value it holds
        self.page = ""

    def close(self) -> None:
        self.ws.close()

    def open(self, page: str, query: str = "") -> Rendered:
        """Go to ``page`` (its url path) with ``query`` (child=P-...), as a deep link."""
        self.page, self.values = page, {}
        return self._run(f"page={page}" + (f"&{query}" if query else ""))

    def fill(self, shown: Rendered, label: str, value: object) -> None:
        """Set the widget labelled ``label`` (as the last run showed it) to ``value``."""
        kind, proto = _widget(shown, label)
        state = WidgetState(id=proto.id)
        if kind == "selectbox":
            state.string_value = str(value)
        elif kind == "number_input":
            state.double_value = float(value)  # type: ignore[arg-type]
        else:
            state.string_value = str(value)
        self.values[proto.id] = state

    def click(self, shown: Rendered, label: str, query: str = "") -> Rendered:
        """Press the button labelled ``label`` and run the page again."""
        _kind, proto = _widget(shown, label)
        trigger = WidgetState(id=proto.id, trigger_value=True)
        return self._run(f"page={self.page}" + (f"&{query}" if query else ""), trigger)

    def rerun(self, query: str = "") -> Rendered:
        return self._run(f"page={self.page}" + (f"&{query}" if query else ""))

    def _run(self, query_string: str, *extra: WidgetState) -> Rendered:
        message = BackMsg(
            rerun_script=ClientState(
                query_string=query_string,
                page_name=self.page,
                widget_states=WidgetStates(widgets=[*self.values.values(), *extra]),
            )
        )
        self.ws.send_binary(message.SerializeToString())
        shown = Rendered()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            raw = self.ws.recv()
            msg = ForwardMsg()
            msg.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
            kind = msg.WhichOneof("type")
            if kind == "new_session":  # a run begins (again, after st.rerun)
                shown = Rendered()
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                _collect(shown, msg.delta.new_element)
            elif kind == "script_finished":
                shown.status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the page asked for another run (st.rerun): wait for it
                if shown.exception:
                    raise AppError(shown.exception)
                return shown
        raise AppError(f"no answer in {self.timeout:.0f} s")


def _collect(shown: Rendered, element: Any) -> None:
    kind = element.WhichOneof("type")
    if kind in WIDGETS:
        proto = getattr(element, kind)
        shown.widgets[proto.label] = (kind, proto)
    elif kind == "exception":
        shown.exception = f"{element.exception.type}: {element.exception.message}"
    elif kind in ("markdown", "text", "heading", "alert"):
        body = getattr(element, kind).body
        shown.text.append(body)


def _widget(shown: Rendered, label: str) -> tuple[str, Any]:
    if label not in shown.widgets:
        raise AppError(f"no widget labelled {label!r} (shown: {', '.join(shown.widgets)})")
    return shown.widgets[label]


def sign_in(url: str, username: str, password: str) -> AppSession:
    """A session signed in through the app's own sign-in form."""
    session = AppSession(url)
    form = session.open("sign-in")
    session.fill(form, "Username", username)
    session.fill(form, "Password", password)
    after = session.click(form, "Sign in")
    if "Username" in after.widgets:
        session.close()
        raise AppError(f"{username} could not sign in: {' '.join(after.text)[:200]}")
    return session
