"""Family network: who is around a child, as it was on a date, drawn as a family tree
(or a web) beside the same network as a list. Clicking a person in the drawing, or
their link in the list, opens their record."""

from __future__ import annotations

import datetime as dt

import streamlit as st
import streamlit.components.v2 as components

from graph import views
from graph.access import guard
from ui import network as drawing
from ui.app import context
from ui.app.plain import literal
from ui.network_layout import LAYOUTS
from ui.present.network import NODE_KINDS, RELATIONSHIPS, listing, summary, warnings

# The drawing is the app's own SVG (every text escaped in ui.network): a click, or
# Enter on a focused person, sends their uid back to the page, which opens the record.
_JS = """export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  let box = parentElement.querySelector('.jn-box');
  if (!box) {
    box = document.createElement('div');
    box.className = 'jn-box';
    parentElement.appendChild(box);
  }
  box.innerHTML = data.legend + '<div class="jn-scroll">' + data.svg + '</div>';
  box.querySelectorAll('[data-uid]').forEach((node) => {
    const open = () => setTriggerValue('opened', node.getAttribute('data-uid'));
    node.addEventListener('click', open);
    node.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); }
    });
  });
}"""
_CSS = """.jn-scroll {overflow: auto; max-height: 760px; border: 1px solid #c8c8c8;
  border-radius: .5rem; background: #fff; margin-top: .3rem}
.jn-open {cursor: pointer}
.jn-open:hover rect, .jn-open:hover polygon {stroke-width: 3}
.jn-open:focus {outline: none}
.jn-open:focus rect, .jn-open:focus polygon {stroke: #111; stroke-width: 4}
.jn-link {font-size: 12px; fill: #333; paint-order: stroke; stroke: #fff; stroke-width: 4px}"""
_drawing = components.component("jigsaw_network", css=_CSS, js=_JS)


def render() -> None:
    uid = context.child_or_pointer(
        "Family network", "Find a child first: their family network opens from their record."
    )
    if not uid:
        return
    heading = st.empty()  # the child's name, once the network is read
    c1, c2, c3 = st.columns(3)
    layout = c1.radio("Layout", list(LAYOUTS), horizontal=True, key="network_layout")
    depth = c2.slider("Steps out from the child", 1, 3, 2, key="network_depth")
    as_of = c3.date_input("As at", value=dt.date.today(), format="DD/MM/YYYY", key="network_as_of")
    f1, f2 = st.columns(2)
    types = f1.multiselect(
        "Links shown",
        list(views.NETWORK_TYPES),
        default=list(views.DEFAULT_TYPES),
        format_func=RELATIONSHIPS.get,
        key="network_types",
    )
    labels = f2.multiselect(
        "Shown",
        list(views.NETWORK_LABELS),
        default=list(views.NETWORK_LABELS),
        format_func=NODE_KINDS.get,
        key="network_labels",
    )
    try:
        net = guard.family_network(
            context.store(),
            context.current_user(),
            context.audit(),
            uid,
            depth=depth,
            as_of=as_of,
            types=tuple(types),
            labels=tuple(labels),
        )
    except guard.AccessDenied as exc:
        heading.title("Family network")
        st.error(literal(exc))
        return
    if not net["nodes"]:
        heading.title("Family network")
        st.info("No one has that reference.")
        return
    net["focus"] = uid
    focus = next((n for n in net["nodes"] if n["uid"] == uid), {})
    heading.title(f"Family network: {literal(str(focus.get('name') or 'Name not known'))}")
    context.link_to("record", "Back to the record", uid)
    if found := warnings(net):
        st.warning(
            "Data-quality warnings about people shown (check before acting):\n"
            + "\n".join(f"- {literal(w)}" for w in found)
        )
    st.caption(
        literal(
            f"{summary(net)}. Click a person, or tab to them and press Enter, to open their record."
        )
    )
    picture, beside = st.columns([3, 1])
    with picture:
        made = LAYOUTS[layout](net, as_of)
        title = f"Family network of {focus.get('name') or 'the child'}"
        result = _drawing(
            data={"svg": drawing.svg(made, title=title), "legend": drawing.legend_html()},
            key=f"network-drawing-{uid}",
            on_opened_change=lambda: None,
        )
        opened = getattr(result, "opened", None)
        if opened and any(n["uid"] == opened and n["label"] == "Person" for n in net["nodes"]):
            context.open_child(opened)
    with beside:
        st.subheader("As a list")
        for group, rows in listing(net, as_of).items():
            st.markdown(f"**{literal(group)}**")
            for row in rows:
                text = row["title"] + (f" ({row['detail']})" if row["detail"] else "")
                if row.get("person") and row["uid"] != uid:
                    context.link_to("record", text, row["uid"], or_text=True)
                else:
                    st.text(text)
