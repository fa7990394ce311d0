"""The Cypher that writes the returns' facts, one statement per kind of fact, made from
their declaration in :data:`graph.schema.RETURN_FACTS`.

Each fact is MERGEd on its uid and hung from its child (an episode from its period of
care). A property a row leaves empty keeps the value already there: two files may
each give part of one fact (an SSD episode and its placement), in either order.
"""

from __future__ import annotations

from graph.cypher import cypher
from graph.schema import RETURN_FACTS
from loaders.build_returns import ReturnRows

# properties stored as Cypher dates (passed as ISO text: FalkorDB takes no date parameter)
DATES = {"date", "closed", "start", "end", "icpc_target", "icpc_date", "decided", "matched",
         "ceased", "from", "to"}  # fmt: skip
# the rows' list (ReturnRows) for each label, in the order they are written
ROWS = {"Referral": "referrals", "Assessment": "assessments", "Section47": "section47s",
        "CINPlan": "cin_plans", "CPPlan": "cp_plans", "PeriodOfCare": "periods_of_care",
        "Episode": "episodes", "MissingEpisode": "missing_episodes", "Review": "reviews",
        "Outcome": "outcomes", "Adoption": "adoptions", "Status": "statuses"}  # fmt: skip


def _set(prop: str) -> str:
    if prop in DATES:
        return f"n.{prop} = CASE WHEN row.{prop} IS NULL THEN n.{prop} ELSE date(row.{prop}) END"
    return f"n.{prop} = coalesce(row.{prop}, n.{prop})"


def _statement(label: str, rel: str, props: tuple[str, ...]) -> str:
    if rel:
        owner, link, field = "Person", f"(o)-[:{rel}]->(n)", "person"
    else:  # an episode hangs from its period of care
        owner, link, field = "PeriodOfCare", "(o)-[:HAS_EPISODE]->(n)", "period_of_care"
    example = {"uid": "x", field: "P-x", **dict.fromkeys(props)}
    return cypher(
        f"load.returns.{label}",
        f"""
        UNWIND $rows AS row
        MATCH (o:{owner} {{uid: row.{field}}})
        MERGE (n:{label} {{uid: row.uid}})
        SET {", ".join(_set(p) for p in props)}
        MERGE {link}
        """,
        example={"rows": [example]},
        writes=True,
    )


STATEMENTS = {label: _statement(label, rel, props) for label, rel, _, props in RETURN_FACTS}
MERGE_DISABILITIES = cypher(
    "load.returns.disabilities",
    """
    UNWIND $rows AS row
    MATCH (p:Person {uid: row.person})
    MERGE (d:Disability {uid: row.disability})
    SET d.name = row.name
    MERGE (p)-[:HAS_DISABILITY]->(d)
    """,
    example={"rows": [{"person": "P-x", "disability": "HEAR", "name": "Hearing"}]},
    writes=True,
)


def plan(rows: ReturnRows) -> list[tuple[str, str, list[dict], dict, None]]:
    """The write steps for the returns' facts (loaders.write.Steps runs them)."""
    steps: list[tuple[str, str, list[dict], dict, None]] = [
        (f"returns: {name.replace('_', ' ')}", STATEMENTS[label], getattr(rows, name), {}, None)
        for label, name in ROWS.items()
    ]
    steps.append(("returns: disabilities", MERGE_DISABILITIES, rows.disabilities, {}, None))
    return steps
