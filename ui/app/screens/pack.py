"""The meeting pack: a child's record and family network on one print-ready page, and
the same as a PDF (ui.meeting_pack), marked OFFICIAL-SENSITIVE with the viewer's name
and the date. Each PDF made is audited with the children it names."""

from __future__ import annotations

import datetime as dt

import streamlit as st
import streamlit.components.v2 as components

from graph.access import guard
from ui import meeting_pack
from ui import network as drawing
from ui.app import context
from ui.app.plain import literal
from ui.network_layout import family_tree
from ui.present import chronology as chrono
from ui.present import record as words
from ui.present.network import warnings as network_warnings
from ui.present.words import day

# When printed: no sidebar, menus or buttons; the marking on the page itself.
PRINT_CSS = """<style>@media print {
  [data-testid="stSidebar"], header, [data-testid="stToolbar"], .stButton,
  [data-testid="stDownloadButton"], [data-testid="stPageLink"], .jigsaw-no-print,
  [data-testid="stDateInput"] {display: none !important}
  [data-testid="stMain"] {padding: 0 !important}
}</style>"""
_print_button = components.component(
    "jigsaw_print",
    html='<button type="button" class="jigsaw-print">Print this page</button>',
    css=".jigsaw-print {font: inherit; padding: .35rem .8rem; border-radius: .5rem; "
    "border: 1px solid #6c6c6c; background: #fff; color: #111; cursor: pointer}",
    js="export default function (c) { c.parentElement.querySelector('button')"
    ".onclick = () => window.print(); }",
)


def render() -> None:
    uid = context.child_or_pointer(
        "Meeting pack", "Open a child's record first: the meeting pack is made from it."
    )
    if not uid:
        return
    today = dt.date.today()
    try:
        pack = guard.meeting_pack(
            context.store(),
            context.current_user(),
            context.audit(),
            uid,
            as_of=today,
            break_glass=st.session_state.get(f"glass-{uid}"),
        )
    except guard.AccessDenied as exc:
        st.title("Meeting pack")
        st.error(literal(exc))
        return
    if pack is None:
        st.title("Meeting pack")
        st.error("No one has that reference.")
        return
    record = pack["record"]
    viewer = context.viewer_name()
    st.html(PRINT_CSS)
    st.markdown(f":red[**{meeting_pack.MARKING}**]")
    st.title(f"Meeting pack: {literal(words.name(record))}")
    st.caption(literal(f"Prepared for {viewer} on {day(today)}. Do not pass on without need."))
    entries = chrono.chronology(record)
    back, period, pdf, printer = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    with back:
        context.link_to("record", "Back to the record", uid)
    since = period.date_input(
        "Chronology from",
        value=entries[0]["date"] if entries else today,
        format="DD/MM/YYYY",
        key=f"pack-since-{uid}",
    )
    entries = chrono.only(entries, since=since)
    with pdf:
        context.download(
            lambda: (
                meeting_pack.build(pack, viewer=viewer, today=today, entries=entries),
                {"chronology_entries": len(entries)},
            ),
            f"meeting-pack-{today.isoformat()}.pdf",
            "application/pdf",
            "Download the meeting pack (PDF)",
            {"view": "meeting_pack"},
            children=pack["children"],
        )
    with printer:
        _print_button(key="print-pack")
    st.markdown(
        " · ".join(f"**{literal(k)}** {literal(v)}" for k, v in words.identity(record, today))
    )
    if flags := words.flags(record):
        st.markdown("Involvement: " + ", ".join(literal(f) for f in flags))
    for w in record.get("warnings") or []:
        st.warning(f"Data quality: {literal(w['text'])}")
    st.subheader("Home and safety")
    for home in words.homes(record):
        st.text(words.home_line(home))
        for note in home["safety"]:
            st.error(f"Visit safety: {literal(note)}")
    for title, rows in words.pack_tables(record, today):
        st.subheader(title)
        context.table(rows)
    st.subheader("Chronology")
    context.table(words.chronology_rows(entries), empty="Nothing dated in this period.")
    network = pack["network"]
    if network:
        network = {**network, "focus": uid}
        st.subheader("Family network")
        for text in network_warnings(network):
            st.warning(f"Data quality: {literal(text)}")
        st.html(drawing.legend_html())
        st.html(f'<div style="overflow-x:auto">{drawing.svg(family_tree(network, today))}</div>')
