"""A possible duplicate in words, for the person deciding it.

Takes the pair as ``graph.access.guard`` gives it (masked to the reviewer's role) and
returns what the page shows: each field side by side with whether the two agree, the
addresses over time, the relatives who support or contradict the link, the sources,
the linkage evidence split into what speaks for and against, the likelihood in words
with its figure, and decisions in words. Nothing here needs Streamlit.
"""

from __future__ import annotations

import re
from typing import Any

from graph.access.guard import REVIEW_IDENTIFIERS, REVIEW_IDENTITY
from graph.access.policy import Restricted
from ui.present.record import text
from ui.present.sources import source_name, sources_list
from ui.present.words import age, blank, code, day, field, moment, plural

# The pair's fields, in the order a reviewer compares them (declared with the guard's
# reads of them), with the code list each uses
IDENTITY, IDENTIFIERS = REVIEW_IDENTITY, REVIEW_IDENTIFIERS
LISTS = {"sex": "sex", "ethnicity": "ethnicity", "language": "language"}
# What a pair's status means, and what a decision did
STATUS = {
    "pending": "awaiting a decision",
    "accepted": "merged into one person",
    "rejected": "kept apart as two people",
}
# Likelihood in words (the figure is shown beside them): the lowest figure for each
LIKELIHOOD = (
    (0.95, "almost certainly"),
    (0.8, "very likely"),
    (0.6, "likely"),
    (0.4, "possibly"),
    (0.0, "unlikely to be"),
)
_ISO_DAY = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
WITHHELD = "withheld from your role"


def likelihood(probability: object) -> str:
    """0.93 -> "very likely the same person (93%)"; blank when not known."""
    if not isinstance(probability, int | float):
        return ""
    words = next(w for floor, w in LIKELIHOOD if probability >= floor)
    return f"{words} the same person ({probability:.0%})"


def status(value: object) -> str:
    return STATUS.get(str(value), blank(value))


def names(people: list[dict[str, Any]], *, once: bool = False) -> str:
    """Both people's names (each name ``once`` after a merge), or that they are
    withheld."""
    shown = [text(p.get("name")) for p in people]
    shown = list(dict.fromkeys(shown)) if once else shown
    if all(not n or n == "restricted" for n in shown):
        return f"Two people (names {WITHHELD})"
    return " and ".join(n or "name not known" for n in shown)


def impact(n: object) -> str:
    """How many children's family networks the decision changes."""
    count = int(n or 0)
    if not count:
        return "changes no child's family network"
    return f"changes {plural(count, 'child', 'children')}'s family network" + (
        "s" if count > 1 else ""
    )


def queue_label(pair: dict[str, Any], number: int) -> str:
    """One line per pair in the queue: who, what the decision changes, how likely."""
    held = " · a linkage rule kept them apart" if pair.get("reason") else ""
    return (
        f"{number}. {names(pair['people'])}: {impact(pair.get('impact'))}; "
        f"{likelihood(pair.get('probability'))}{held}"
    )


def _value(name: str, value: object) -> str:
    if isinstance(value, Restricted):
        return "restricted"
    if name == "dob":
        return day(value)
    if name in LISTS and value is not None:
        return code(LISTS[name], value)
    return blank(value)


def _agree(same: object) -> str:
    return {"same": "Same", "different": "Different"}.get(str(same), "")


def side_by_side(pair: dict[str, Any], headings: list[str]) -> dict[str, list[dict[str, str]]]:
    """The identity fields and the identifiers, each a table with a column per person
    and whether the two agree; a field neither holds is left out."""
    rows = {f["field"]: f for f in pair["fields"]}
    out: dict[str, list[dict[str, str]]] = {}
    for title, wanted in (("Identity", IDENTITY), ("Identifiers", IDENTIFIERS)):
        table = []
        for name in wanted:
            f = rows.get(name)
            if f is None or all(v is None for v in f["values"]):
                continue
            cells = [_value(name, v) for v in f["values"]]
            row = {"Field": field(name)}
            row.update(zip(headings, cells, strict=False))
            row["The two"] = _agree(f["same"])
            table.append(row)
        out[title] = table
    return out


def headings(pair: dict[str, Any]) -> list[str]:
    """A column heading per person: their name, or "First person" and "Second person"
    when names are withheld (or the same)."""
    found = [text(s["person"].get("full_name")) for s in pair["sides"]]
    if len(set(found)) < len(found) or any(not n or n == "restricted" for n in found):
        return ["First person", "Second person"][: len(found)]
    return found


def agreement(pair: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(fields the two hold the same, fields they hold differently), as labels: said
    to every reviewer, as it needs no values."""
    shown = [f for f in pair["fields"] if f["field"] in IDENTITY + IDENTIFIERS]
    same = [field(f["field"]) for f in shown if f["same"] == "same"]
    different = [field(f["field"]) for f in shown if f["same"] == "different"]
    return same, different


def reason(pair: dict[str, Any]) -> str:
    """The rule that kept the pair apart, dates as a UK reader writes them."""
    return _in_words(pair.get("reason"))


def _in_words(said: Any) -> str:
    return _ISO_DAY.sub(lambda m: day(m.group(1)), blank(said))


def evidence(pair: dict[str, Any]) -> tuple[list[str], list[str]] | None:
    """Linkage's evidence as (for, against), dates as a UK reader writes them; None
    when it is withheld from the reviewer's role."""
    said = pair.get("evidence")
    if isinstance(said, Restricted):
        return None
    words = _in_words(said)
    good, _sep, bad = words.partition("against:")
    split = lambda part: [p.strip() for p in part.split(";") if p.strip()]  # noqa: E731
    return split(good), split(bad)


def addresses(side: dict[str, Any]) -> list[str]:
    """Where the person lived, newest first: "10 Field Way, NM3 9WP: 30 Mar 2025 to now"."""
    out = []
    for a in side["addresses"]:
        place = ", ".join(t for t in (text(a.get(k)) for k in ("line1", "town", "postcode")) if t)
        since, until = day(a.get("from")), day(a.get("to")) or "now"
        when = f"{since} to {until}" if since else f"until {until}" if until != "now" else "now"
        out.append(f"{place or 'Address not known'}: {when}")
    return out


def relatives(pair: dict[str, Any], today: Any = None) -> list[list[dict[str, str]]]:
    """Each side's relatives, with what each says about the link: on both sides
    (supports it), or a birth parent where the other side names different birth parents
    (contradicts it: a person has one set)."""
    sides = pair["sides"]
    birth = [
        {m.get("uid") for m in s["family"] if str(m.get("relation")) == "parent (birth)"}
        for s in sides
    ]
    clash = len(birth) == 2 and all(birth) and not (birth[0] & birth[1])
    out = []
    for i, side in enumerate(sides):
        rows = []
        for m in side["family"]:
            says = ""
            if m.get("shared"):
                says = "Supports: on both sides"
            elif clash and m.get("uid") in birth[i]:
                says = "Contradicts: the other has different birth parents"
            rows.append(
                {
                    "Relationship": _relation(m.get("relation")),
                    "Name": text(m.get("name")) or "Name not known",
                    "Date of birth": _value("dob", m.get("dob")),
                    "Age": "" if isinstance(m.get("dob"), Restricted) else age(m.get("dob"), today),
                    "For the link": says,
                }
            )
        out.append(rows)
    return out


def _relation(relation: object) -> str:
    words = blank(relation)
    return words[:1].upper() + words[1:]


def sources(side: dict[str, Any]) -> list[dict[str, str]]:
    """The rows this person was read from: which source, file and row, and how sure
    linkage was that each row is this person."""
    return [
        {
            "Source": source_name(r.get("source")),
            "File": blank(r.get("file")),
            "Row": blank(r.get("row")),
            "Linked": "certain"
            if r.get("probability") in (None, 1, 1.0)
            else f"{r['probability']:.0%} likely",
        }
        for r in side["sources"]
    ]


def held_in(side: dict[str, Any]) -> str:
    """The sources that know this person, in words."""
    return sources_list(side["person"].get("sources"))


def decision(row: dict[str, Any]) -> str:
    """A decision, for the list of recent ones: who, what, by whom, when."""
    people = names([{"name": n} for n in row["names"] if n], once=True)
    return (
        f"{people}: {status(row['status'])} by {blank(row['decided_by'])} on "
        f"{moment(row['decided_at'])}"
    )
