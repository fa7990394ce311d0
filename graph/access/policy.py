"""One access policy, as data, and the functions every path to the data calls.

Modelled on Datasette's permission checks: a declarative policy (``policy.yaml``,
or the file named by ``JIGSAW_POLICY``) and one function, :func:`allowed`, that
everything asks. Redaction happens here, in ``graph/``, before values reach a page
or a query result: a restricted value is replaced by :class:`Restricted`, which
renders as "restricted" with the reason, so it never appears in output at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from graph.yaml_model import load_yaml_model

POLICY_FILE = Path(__file__).with_name("policy.yaml")
Action = Literal[
    "view_child",
    "search",
    "view_network",
    "run_query",
    "run_adhoc",
    "add_note",
    "review_linkage",
    "view_data",
    "manage_users",
    "read_audit",
    "view_caseload",
    "view_alerts",
    "plan_ahead",
    "reidentify",
]
SOCIAL_CARE_KINDS = {"CIN", "CP", "CLA", "CL"}
FLAG_TEXT = {
    "CIN": "known to social care",
    "CP": "known to social care",
    "CLA": "known to social care",
    "CL": "known to social care",
    "EH": "known to early help",
    "YJ": "known to youth justice",
    "EHCP": "has SEND support",
    "SEN support": "has SEND support",
    "HV": "known to health visiting",
    "EWO": "known to education welfare",
    "Transport": "has school transport",
}


class PolicyError(ValueError):
    """The policy file is unusable; the message says where."""


class CaseKinds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full: list[str] = Field(default_factory=list)
    flag: list[str] = Field(default_factory=list)


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = ""
    case_kinds: CaseKinds = Field(default_factory=CaseKinds)
    person_fields: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    scope: Literal["own_caseload", "all", "none"] = "own_caseload"
    adhoc_cypher: bool = False
    pseudonymise: bool = False
    admin: bool = False
    break_glass: bool = True
    actions: list[str] = Field(default_factory=list)


class Policy(BaseModel):
    model_config = ConfigDict(extra="ignore")
    roles: dict[str, Role]
    break_glass_purposes: list[str] = Field(min_length=1)


@cache
def load_policy(path: Path | None = None) -> Policy:
    path = path or Path(os.environ.get("JIGSAW_POLICY") or POLICY_FILE)
    return load_yaml_model(path, Policy, "access policy", PolicyError)


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the policy sees them."""

    username: str
    role: str
    teams: tuple[str, ...] = ()
    professional: str | None = None  # their Professional uid, for "own caseload"

    @property
    def rules(self) -> Role:
        roles = load_policy().roles
        if self.role not in roles:
            raise PolicyError(f"role {self.role!r} is not in the policy ({', '.join(roles)})")
        return roles[self.role]


@dataclass(frozen=True)
class Restricted:
    """A value the viewer may not see. Renders as 'restricted', never as the value."""

    why: str

    def __str__(self) -> str:
        return "restricted"

    def __repr__(self) -> str:
        return f"restricted ({self.why})"


@dataclass(frozen=True)
class BreakGlass:
    """Why someone opens a record off their caseload: a lawful purpose from the
    policy's list, and a few words of their own. Audited with the view."""

    purpose: str
    details: str

    def __str__(self) -> str:
        return f"{self.purpose}: {self.details.strip()}"


MIN_REASON_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")


def break_glass_problem(glass: BreakGlass) -> str | None:
    """Why this break-glass reason is not acceptable, or None. The details need a
    few real words: dots, repeated letters or a single word are not a reason."""
    purposes = load_policy().break_glass_purposes
    if glass.purpose not in purposes:
        return "choose the lawful purpose from the list: " + "; ".join(purposes)
    words = {w.lower() for w in _WORD.findall(glass.details)}
    real = {w for w in words if len(set(w)) > 1 and re.search("[aeiouy]", w)}
    if len(real) < MIN_REASON_WORDS:
        return (
            f"say in at least {MIN_REASON_WORDS} words why you need this record now (for "
            "example 'strategy discussion called by police tonight'); dots, repeated "
            "letters or a single word are not a reason"
        )
    return None


@dataclass
class ChildAccess:
    """What a principal may see of one child, decided once per view."""

    full: bool  # full record (own/team caseload, or a scope of all, or break-glass)
    reason: str  # why, shown after "Opened with break glass:" or "Limited view:"
    break_glass: bool = False
    visible_kinds: set[str] = field(default_factory=set)
    flag_kinds: set[str] = field(default_factory=set)


def allowed(principal: Principal | None, action: Action) -> bool:
    """The one permission function for actions that do not concern one child."""
    if principal is None:
        return False
    return action in principal.rules.actions


# why a child's full record is not shown: the words every refusal of it uses
NOT_HELD = "not on your or your team's caseload"


def child_access(
    principal: Principal,
    *,
    workers: Iterable[str],
    teams: Iterable[str],
    break_glass: BreakGlass | None = None,
) -> ChildAccess:
    """Full or limited view of a child, from who works on the child's open cases.
    ``reason`` says why in words the page shows after its own label."""
    rules = principal.rules
    kinds_full = set(rules.case_kinds.full)
    kinds_flag = set(rules.case_kinds.flag)
    if rules.scope == "none":
        return ChildAccess(False, "this role sees no individual records")
    if rules.scope == "all":
        return ChildAccess(True, "role sees all records", False, kinds_full, kinds_flag)
    if principal.professional and principal.professional in set(workers):
        return ChildAccess(True, "own caseload", False, kinds_full, kinds_flag)
    if set(principal.teams) & set(teams):
        return ChildAccess(True, "team caseload", False, kinds_full, kinds_flag)
    if break_glass is not None and rules.break_glass:
        problem = break_glass_problem(break_glass)
        if problem:
            raise PermissionError(problem)
        return ChildAccess(True, str(break_glass), True, kinds_full, kinds_flag)
    # limited view: identity to confirm it is the right child, flags, nothing more
    return ChildAccess(
        False,
        NOT_HELD,
        False,
        set(),
        kinds_full | kinds_flag,
    )


LIMITED_FIELDS = {"uid", "given_name", "family_name", "full_name", "dob"}


def redact_person(
    person: Mapping[str, Any], principal: Principal, access: ChildAccess
) -> dict[str, Any]:
    """A person's fields as this principal may see them."""
    rules = principal.rules
    visible = set(rules.person_fields) if access.full else LIMITED_FIELDS & set(rules.person_fields)
    out: dict[str, Any] = {}
    for key, value in person.items():
        if key in visible or value is None:
            out[key] = value
        else:
            out[key] = Restricted(f"{key} is not shown to a {rules.title or principal.role}")
    return out


def redact_cases(cases: Iterable[Mapping[str, Any]], access: ChildAccess) -> list[dict]:
    """Cases in full, as a flag ("known to social care"), or not at all."""
    out: list[dict] = []
    flags: set[str] = set()
    for case in cases:
        kind = case.get("kind")
        if kind in access.visible_kinds and access.full:
            out.append(dict(case))
        elif kind in access.flag_kinds or kind in access.visible_kinds:
            text = FLAG_TEXT.get(str(kind), "known to another service")
            if text not in flags and case.get("status") == "open":
                flags.add(text)
                out.append(
                    {"kind": Restricted("details restricted"), "flag": text, "status": "open"}
                )
    return out


def redact_notes(
    notes: Iterable[Mapping[str, Any]], principal: Principal, access: ChildAccess
) -> list[dict]:
    kinds = set(principal.rules.notes)
    if not access.full:
        kinds &= {"safety"}
    return [dict(n) for n in notes if n.get("kind") in kinds]
