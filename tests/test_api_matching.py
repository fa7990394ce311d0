"""The exchange's scoring gives the probabilities Splink's own ``score_pairs`` gives
with the same kept model, for an enquiry against people of the loaded small county and
variants of them (a typo, a swapped day and month, another family name, another sex);
and its statement evaluated in Python (:mod:`loaders.sql_rows`) gives what DuckDB gives
for it, on harder variants too (names beyond ASCII, missing fields, postcodes,
identifiers that differ)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
from splink import Linker
from splink.backends.duckdb import DuckDBAPI

from loaders.linkage import MODEL_COLUMNS, Identity, comparison_frame, swapped_day_month
from loaders.scoring import MODEL_FILE, Scorer
from loaders.sql_rows import Undecided, rows_of
from tests.api_helpers import Truth


@pytest.fixture(scope="module")
def model(loaded_county, engine_dir) -> dict:
    return json.loads((engine_dir / "loads" / MODEL_FILE).read_text(encoding="utf-8"))


def _identity(person: dict[str, str], rid: str) -> Identity:
    return Identity(
        rid=rid,
        given=person["given_name"],
        family=person["surname"],
        dob=person["dob"],
        sex=person["sex"],
    )


def _splink_probabilities(model: dict, query: Identity, candidates: list[Identity]) -> dict:
    """Splink's own scoring of the query against each candidate, from the kept model
    and its name frequencies (the frame with its blocking keys, which Splink's own
    scoring of pairs reads)."""
    rows = comparison_frame([query, *candidates], keys=True).to_pylist()
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

    scorer = Scorer(model)
    assert scorer.steps is not None, "the statement is evaluated in Python"
    ours = {s.rid: s.probability for s in scorer.score(query, candidates)}
    splink = _splink_probabilities(model, query, candidates)

    assert set(ours) == set(splink) == {c.rid for c in candidates}
    for rid, probability in splink.items():
        assert ours[rid] == pytest.approx(probability, abs=1e-9), rid
    # and the comparisons did their work: the same child far above everyone else
    assert ours["same"] > 0.9 > max(ours[c.rid] for c in others)


def test_the_statement_in_python_gives_what_duckdb_gives(loaded_county, model):
    truth = Truth(loaded_county.root)
    people = [p for p in truth.people.values() if p["dob"]]
    scorer = Scorer(model)
    assert scorer.steps is not None
    compared = undecided = 0
    for i, asked in enumerate(people[:12]):
        query = replace(_identity(asked, "?enquiry"), postcode="CM1 1AA" if i % 2 else "")
        near = [
            replace(query, rid="accent", given=asked["given_name"][:-1] + "ë"),
            replace(query, rid="polish", family="Łukasiewicz-" + asked["surname"]),
            replace(query, rid="no-given", given=""),
            replace(query, rid="no-sex", sex=""),
            replace(query, rid="moved", postcode="CM2 9ZZ"),
            replace(query, rid="other-nhs", nhs="9434765919"),
            replace(query, rid="too-young", born_before="1900-01-01"),
            replace(query, rid="next-year", dob=str(int(asked["dob"][:4]) + 1) + asked["dob"][4:]),
        ]
        picked = people[20 + i * 30 : 50 + i * 30]
        others = [_identity(p, f"other-{j}") for j, p in enumerate(picked)]
        columns = scorer.columns(query, near + others)
        rows = rows_of(columns)
        for row, expected in zip(rows, scorer.in_sql(columns), strict=True):
            try:
                (mine,) = scorer.steps.run([row])
            except Undecided:  # a similarity at a level's threshold: SQL's to say
                undecided += 1
                continue
            assert mine["unique_id_r"] == expected["unique_id_r"]
            assert mine["match_probability"] == pytest.approx(
                expected["match_probability"], abs=1e-12
            )
            assert {g: mine[g] for g in scorer.gammas} == {g: expected[g] for g in scorer.gammas}
            compared += 1
    assert compared + undecided == 12 * 38
    assert undecided < compared / 20
