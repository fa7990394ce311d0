"""The family network as an interactive pyvis graph that needs no internet.

pyvis inlines vis-network with ``cdn_resources="in_line"`` but still links Bootstrap
from a CDN; those tags are removed here (the page does not use Bootstrap), so the
HTML loads nothing from outside. Physics stabilisation is capped so a family of a
hundred or more nodes draws at once instead of freezing the page.
"""

from __future__ import annotations

import html
import re
from typing import Any

from pyvis.network import Network

STYLE = {  # colour and shape by node type
    "Child": ("#d9480f", "dot"), "Person": ("#1c7ed6", "dot"), "Family": ("#7048e8", "hexagon"),
    "Address": ("#2b8a3e", "square"), "School": ("#e67700", "triangle"),
    "Case": ("#c2255c", "diamond"), "Professional": ("#495057", "star"),
}  # fmt: skip
_CDN_TAG = re.compile(
    r"<(link|script)[^>]+(cdn\.jsdelivr\.net|bootstrap)[^>]*>(\s*</script>)?", re.IGNORECASE
)


def legend() -> list[tuple[str, str, str]]:
    return [(name, colour, shape) for name, (colour, shape) in STYLE.items()]


def render(network: dict[str, list[dict[str, Any]]], *, focus: str, height: int = 620) -> str:
    net = Network(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line")
    net.set_options("""{"physics": {"stabilization": {"iterations": 150, "fit": true},
                     "barnesHut": {"gravitationalConstant": -4000}},
                     "interaction": {"hover": true, "navigationButtons": false}}""")
    for node in network["nodes"]:
        kind = "Child" if node.get("child") else node["label"]
        colour, shape = STYLE.get(kind, ("#868e96", "dot"))
        flags = ", ".join(node.get("open_cases") or [])
        label = str(node["name"])[:40] + (f"\n[{flags}]" if flags else "")
        net.add_node(
            node["uid"],
            label=label,
            title=f"{kind}: {node['name']}",
            color=colour,
            shape=shape,
            size=28 if node["uid"] == focus else 16,
            borderWidth=4 if node["uid"] == focus else 1,
        )
    ids = {n["uid"] for n in network["nodes"]}
    for edge in network["edges"]:
        if edge["source"] in ids and edge["target"] in ids:
            label = edge["type"].replace("_", " ").lower()
            if edge.get("kind"):
                label += f" ({edge['kind']})"
            net.add_edge(edge["source"], edge["target"], title=label, label=label, font={"size": 9})
    page = net.generate_html()
    page = _CDN_TAG.sub("", page)
    # clicking a child opens their record (the app reads ?child= on the record page)
    children = [n["uid"] for n in network["nodes"] if n.get("child")]
    script = (
        "<script>network.on('doubleClick', function (p) {"
        f" var kids = {html.escape(str(children)).replace('&#x27;', '"')};"
        " if (p.nodes.length && kids.indexOf(p.nodes[0]) >= 0) {"
        " window.parent.location.search = '?child=' + encodeURIComponent(p.nodes[0]); }});"
        "</script></body>"
    )
    return page.replace("</body>", script, 1)


def external_urls(page: str) -> set[str]:
    """Scripts, styles or fonts the page would fetch from elsewhere (should be none)."""
    found = re.findall(r"""<(?:script|link|img)[^>]+(?:src|href)=["'](https?://[^"']+)""", page)
    found += re.findall(r"""@import\s+url\(["']?(https?://[^"')]+)""", page)
    return set(found)
