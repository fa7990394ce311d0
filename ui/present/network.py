"""The family network in words: who each person is to the child, and what each node
and link is, for the drawing, its list view and the meeting pack.

Works on the network as the guard returns it (``guard.family_network``): nodes with
``uid``, ``label``, ``name``, ``child``, ``dob``, ``sex``, ``kind``, ``service``,
``workers``, ``role``, ``team``, ``postcode``; links with ``source``, ``target``,
``type`` and ``kind``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from ui.present.words import age, case_kind, plural

# Friendly names for the network's filters (graph.views.NETWORK_TYPES and _LABELS)
RELATIONSHIPS = {
    "PARENT_OF": "Parents and children",
    "MEMBER_OF": "Family groups",
    "LIVES_AT": "Homes",
    "ATTENDS": "Schools",
    "HAS_CASE": "Cases",
    "WORKS_ON": "Professionals on cases",
}
NODE_KINDS = {
    "Person": "People",
    "Family": "Family groups",
    "Address": "Homes",
    "School": "Schools",
    "Case": "Cases",
    "Professional": "Professionals",
}
LINK_WORDS = {
    "PARENT_OF": "parent of",
    "MEMBER_OF": "in family group",
    "LIVES_AT": "lives at",
    "ATTENDS": "attends",
    "HAS_CASE": "case",
    "WORKS_ON": "works on",
}
PARENT_KIND = {
    "birth": "",
    "parent": "",
    "step": "Step-",
    "adoptive": "Adoptive ",
    "foster": "Foster ",
    "guardian": "Guardian ",
}


def _gendered(sex: object, female: str, male: str, other: str) -> str:
    return {"F": female, "M": male}.get(str(sex or ""), other)


def relations(network: dict[str, Any]) -> dict[str, str]:
    """Person uid -> who they are to the focus child ("Mother", "Half-sister",
    "Foster carer", "Father of half-sister"); the focus child is "This child"."""
    focus = network.get("focus")
    people = {n["uid"]: n for n in network["nodes"] if n["label"] == "Person"}
    parents: dict[str, dict[str, str]] = defaultdict(dict)  # child -> parent -> kind
    children: dict[str, set[str]] = defaultdict(set)
    for e in network["edges"]:
        if e["type"] == "PARENT_OF" and e["source"] in people and e["target"] in people:
            parents[e["target"]][e["source"]] = str(e.get("kind") or "birth")
            children[e["source"]].add(e["target"])
    if focus not in people:
        return {}
    out = {uid: word for uid in people if (word := _close(uid, focus, people, parents, children))}
    for uid, node in people.items():  # the rest, through the people already named
        if uid in out:
            continue
        sex = node.get("sex")
        kids = sorted(children.get(uid, set()))
        if not kids:
            out[uid] = "Child" if node.get("child") else "Adult"
            continue
        kid = kids[0]
        whose = out.get(kid)
        whose = whose[:1].lower() + whose[1:] if whose else first_name(people[kid])
        kinds = {parents[k].get(uid) for k in kids}
        if kinds <= {"foster", "guardian"}:
            out[uid] = f"{'Foster carer' if 'foster' in kinds else 'Guardian'} of {whose}"
        else:
            out[uid] = _gendered(sex, "Mother", "Father", "Parent") + f" of {whose}"
    return out


def _close(
    uid: str,
    focus: str,
    people: dict[str, dict[str, Any]],
    parents: dict[str, dict[str, str]],
    children: dict[str, set[str]],
) -> str:
    """Who ``uid`` is to the focus child when a parent link joins them directly (the
    child, a parent, a child of theirs, a sibling, a grandparent); blank otherwise."""
    sex = people[uid].get("sex")
    mine = parents.get(focus, {})
    if uid == focus:
        return "This child"
    if uid in mine:
        kind = mine[uid]
        if kind in ("foster", "guardian"):
            return "Foster carer" if kind == "foster" else "Guardian"
        word = PARENT_KIND.get(kind, "") + _gendered(sex, "mother", "father", "parent")
        return word[:1].upper() + word[1:]
    if uid in children.get(focus, set()):
        return _gendered(sex, "Daughter", "Son", "Child")
    theirs = parents.get(uid, {})
    shared = set(theirs) & set(mine)
    if shared:
        birth = {p for p, k in mine.items() if k in ("birth", "parent", "adoptive")}
        their_birth = {p for p, k in theirs.items() if k in ("birth", "parent", "adoptive")}
        if birth and their_birth == birth:
            prefix = ""
        elif birth & their_birth:
            prefix = "Half-"
        elif all("foster" in (theirs[p], mine[p]) for p in shared):
            prefix = "Foster "
        else:
            prefix = "Step-"
        word = _gendered(sex, "sister", "brother", "sibling")
        return (prefix + word) if prefix else word.capitalize()
    if any(uid in parents.get(p, {}) for p in mine):
        return _gendered(sex, "Grandmother", "Grandfather", "Grandparent")
    return ""


def first_name(node: dict[str, Any]) -> str:
    return str(node.get("name") or "").split(" ")[0] or "a child shown"


def node_lines(node: dict[str, Any], relation: str = "", today: dt.date | None = None) -> list[str]:
    """What a node's box says, first line first: a person's name then who they are,
    their age and sex; a case's involvement then its service and worker."""
    label = node["label"]
    if label == "Person":
        name = str(node.get("name") or "").strip() or "Name not known"
        years = age(node.get("dob"), today)
        sex = {"F": "F", "M": "M"}.get(str(node.get("sex") or ""), "")
        detail = " · ".join(x for x in (relation, years, sex) if x)
        return [name, detail] if detail else [name]
    if label == "Case":
        if node.get("kind") is None:
            return ["Case", "restricted"]
        service = str(node.get("service") or "")
        workers = ", ".join(w for w in node.get("workers") or [] if w) or "no worker"
        return [case_kind(node.get("kind")), " · ".join(x for x in (service, workers) if x)]
    if label == "Professional":
        return [str(node.get("name") or ""), str(node.get("role") or "")]
    if label == "Address":
        line = str(node.get("name") or "")
        postcode = str(node.get("postcode") or "")
        if line == node.get("uid") or not line or line.startswith("PC-"):
            return ["Home", f"in {postcode}" if postcode else "address not known"]
        return [line, postcode] if postcode else [line]
    if label == "Family":
        return ["Family group"]
    if label == "School":
        return [str(node.get("name") or "School")]
    return [str(node.get("name") or label)]


def listing(network: dict[str, Any], today: dt.date | None = None) -> dict[str, list[dict]]:
    """The network as lists (the drawing's keyboard-usable twin): people, cases,
    professionals, homes and groups, each row with its words and, for people, the uid
    their record opens with."""
    rel = relations(network)
    groups: dict[str, list[dict]] = {
        "People": [],
        "Cases": [],
        "Professionals": [],
        "Homes, family groups and schools": [],
    }
    for node in network["nodes"]:
        lines = node_lines(node, rel.get(node["uid"], ""), today)
        row = {"uid": node["uid"], "title": lines[0], "detail": " · ".join(lines[1:])}
        if node["label"] == "Person":
            row["person"] = True
            groups["People"].append(row)
        elif node["label"] == "Case":
            groups["Cases"].append(row)
        elif node["label"] == "Professional":
            groups["Professionals"].append(row)
        else:
            groups["Homes, family groups and schools"].append(row)
    focus = network.get("focus")
    groups["People"].sort(key=lambda r: (r["uid"] != focus, r["title"]))
    return {k: v for k, v in groups.items() if v}


def link_words(edge: dict[str, Any]) -> str:
    words = LINK_WORDS.get(edge["type"], edge["type"].replace("_", " ").lower())
    if edge["type"] == "PARENT_OF" and edge.get("kind") not in (None, "birth", "parent"):
        return f"{edge['kind']!s} parent of"
    return words


def warnings(network: dict[str, Any]) -> list[str]:
    """Data-quality warnings about people shown (added by linkage), as sentences."""
    return [str(w.get("text") or "") for w in network.get("warnings") or [] if w.get("text")]


def summary(network: dict[str, Any]) -> str:
    people = sum(1 for n in network["nodes"] if n["label"] == "Person")
    kids = sum(1 for n in network["nodes"] if n.get("child"))
    cases = sum(1 for n in network["nodes"] if n["label"] == "Case")
    return (
        f"{plural(people, 'person', 'people')} ({plural(kids, 'child', 'children')}), "
        f"{plural(cases, 'case')}, {plural(len(network['edges']), 'link')}"
    )
