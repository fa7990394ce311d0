"""Demo accounts tied to real workers in the loaded demo county.

So the demo shows the policy working: the demo social worker holds real cases (full
records for those children, the limited view for others), the team manager manages a
real team. Passwords are random per demo, returned to the caller to print once, and
never written to disk (only their argon2 hashes, in users.json).
"""

from __future__ import annotations

from pathlib import Path

from graph.access.accounts import Accounts, demo_password
from graph.cypher import cypher
from graph.store import GraphStore

BUSIEST_WORKER = cypher(
    "demo.busiest_worker",
    """
    MATCH (w:Professional)-[r:WORKS_ON]->(c:Case {status: 'open'})
    WHERE w.role = $role AND r.to IS NULL
    OPTIONAL MATCH (w)-[:IN_TEAM]->(t:Team)
    RETURN w.uid AS uid, w.name AS name, t.uid AS team, count(c) AS cases
    ORDER BY cases DESC, uid
    LIMIT 1
    """,
    example={"role": "Social Worker"},
)

DEMO_ROLES = (
    # username, policy role, the job title of the worker they stand for (or None)
    ("social.worker", "social_worker", "Social Worker"),
    ("send.caseworker", "send_caseworker", "SEND Caseworker"),
    ("health.visitor", "health_visitor", "Health Visitor"),
    ("school.dsl", "school_dsl", None),
    ("analyst", "analyst", None),
    ("team.manager", "team_manager", "Social Worker"),
    ("admin", "administrator", None),
)


def create_demo_accounts(store: GraphStore, data_dir: Path) -> list[dict[str, str]]:
    """Fresh demo accounts (replacing earlier ones); returns who is who, with passwords."""
    path = data_dir / "users.json"
    if path.exists():
        path.unlink()
    accounts = Accounts(path)
    made = []
    for username, role, title in DEMO_ROLES:
        worker = None
        if title:
            rows = store.read(BUSIEST_WORKER, {"role": title}).rows
            worker = rows[0] if rows else None
        password = demo_password()
        professional = worker["uid"] if worker and role != "team_manager" else None
        teams = [worker["team"]] if worker and worker["team"] and role == "team_manager" else []
        accounts.add(username, role, password, teams=teams, professional=professional)
        made.append(
            {
                "username": username,
                "role": role,
                "password": password,
                "stands_for": worker["name"] if worker else "",
            }
        )
    return made
