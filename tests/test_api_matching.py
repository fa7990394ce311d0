"""The exchange's compiled scoring statement gives the probabilities Splink's own
``score_pairs`` gives with the same kept model, for an enquiry against people of the
loaded small county and variants of them (a typo, a swapped day and month, another
family name, another sex)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
from splink import Linker
from splink.backends.duckdb import DuckDBAPI

from loaders.linkage import MODEL_COLUMNS, Identity, comparison_frame, swapped_day_month
from loaders.scoring import MODEL_FILE, Scorer
from tests.api_helpers import Truth


@pytest.fixture(scope="module")
def model(loaded_county, engine_dir) -> dict:
    return json.loads((engine_dir / "loads" / MODEL_FILE).read_text(encoding="utf-8"))


def _identity(person: dict[str, str], rid: str) -> Identity:
    return Identity(rid=rid, given=person["given_name"], family=person["surname"],
                    dob=person["dob"], sex=person["sex"])  # fmt: skip


def _splink_probabilities(model: dict, query: Identity, candidates: list[Identity]) -> dict:
    """Splink's own scoring of the query against each candidate, from the kept model
    and its name frequencies."""
    rows = comparison_frame([query, *candidates]).to_pylist()
    for row in rows:
        for name in MODEL_COLUMNS:
            row[f"tf_{name}"] = model["frequencies"][name].get(row[name])
    db = DuckDBAPI()
    linker = Linker(db.register(rows[1:]), model["splink"], log_level=logging.ERROR)
    scored = linker.inference.score_pairs([rows[0]], rows[1:]).as_record_list()
    return {r["unique_id_r"]: r["match_probability"] for r in scored}


def test_the_compiled_statement_scores_as_splink_does(loaded_county, model):
    truth = Truth(loaded_county.root)
    children = [p for p in truth.people.values() if p["is_child"] == "1" and p["dob"]]
    asked = children[0]
    query = _identity(asked, "?enquiry")
    swapped = swapped_day_month(asked["dob"]) or asked["dob"]
    variants = [
        _identity(asked, "same"),
        replace(_identity(asked, "typo"), given=asked["given_name"][:-1] + "x"),
        replace(_identity(asked, "swapped"), dob=swapped),
        replace(_identity(asked, "other-family"), family="Entwistle-Okafor"),
        replace(_identity(asked, "other-sex"), sex="M" if asked["sex"] == "F" else "F"),
    ]
    others = [_identity(p, f"other-{i}") for i, p in enumerate(children[1:40])]
    candidates = variants + others

    ours = {s.rid: s.probability for s in Scorer(model).score(query, candidates)}
    splink = _splink_probabilities(model, query, candidates)

    assert set(ours) == set(splink) == {c.rid for c in candidates}
    for rid, probability in splink.items():
        assert ours[rid] == pytest.approx(probability, abs=1e-9), rid
    # and the comparisons did their work: the same child far above everyone else
    assert ours["same"] > 0.9 > max(ours[c.rid] for c in others)
