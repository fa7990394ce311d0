"""Where a fact came from, in words: a source's name as a reader knows it.

Sources are named by their mapping (``social_care_episodes``) or by a national
return's pack and file (``ssda903_episodes``); keys that carry their source
(``social_care_notes:N0000061``) give it up here. The app's own updates say so.
"""

from __future__ import annotations

import re

# National returns by the prefix their packs give their files' sources
RETURNS = {
    "ssda903": "SSDA903 return",
    "cin_census": "CIN census",
    "annex_a": "Annex A",
    "sen2": "SEN2 return",
    "school_census": "School census",
    "ssd": "Safeguarding dataset",
}
_PERSON_KEY = re.compile(r"^P-[0-9a-f]+$")


def source_name(source: str | None) -> str:
    """``social_care_episodes`` -> "Social care episodes"; ``ssda903_reviews`` ->
    "SSDA903 return (reviews)"; blank for nothing."""
    if not source:
        return ""
    for prefix, name in RETURNS.items():
        if source == prefix or source.startswith(prefix + "_"):
            rest = source.removeprefix(prefix).strip("_").replace("_xml", "")
            return f"{name} ({rest.replace('_', ' ')})" if rest else name
    text = source.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def source_of_key(key: object) -> str:
    """The source a record's key names (``social_care_notes:N0000061``), in words;
    "Jigsaw" for what was written in the app; blank when the key names none."""
    text = str(key or "")
    if text.startswith("N-"):
        return "Added in Jigsaw"
    head, sep, _rest = text.partition(":")
    if not sep or _PERSON_KEY.match(head):
        return ""
    return source_name(head)


def sources_list(sources: object) -> str:
    """A person's ``sources`` (comma separated) in words, each once."""
    names = [source_name(s.strip()) for s in str(sources or "").split(",") if s.strip()]
    return ", ".join(dict.fromkeys(n for n in names if n))
