"""Splink models, declared as comparisons with documented priors, and how they train.

Each comparison is a list of levels; every level carries a prior m and u probability
(``docs/linkage.md`` lists them), so a model can always score:

* with enough records (:data:`SMALL_INPUT` distinct identities or more) Splink learns
  the probability that two records match, u by random sampling and m from known
  matches (records sharing a checked identifier) or by expectation maximisation; a
  step that cannot run on the data (no pairs to train on, a rule no pair meets) keeps
  the priors for what it would have learnt, and a level no training observed keeps
  its prior rather than Splink's "not observed" value;
* with fewer, nothing is learnt: the priors score the pairs, without term-frequency
  adjustments (a name's frequency in a handful of rows says nothing);
* a comparison whose columns are empty in every record is left out, and with no
  name and no date of birth at all there is nothing to score: linkage stands on
  checked identifiers alone.

Each step taken or skipped is written to ``notes``, which the load report prints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker

from loaders.linkage import backend as engines
from loaders.linkage import scope
from loaders.linkage.backend import LINKAGE_MEMORY, Backend

SMALL_INPUT = 1_000  # distinct identities below which a model is not trained
# Random pairs Splink's u is estimated on, whatever the county's size: the same number
# as the conditioned levels' own tests (backend.SAMPLE_ROWS), so its cost does not grow
# with the county; twice as many took twice the CPU for the same precision and recall
# (benchmarks/README.md, "Splink's share").
U_PAIRS = 1e6
MIN_LABELLED = 20  # known matches needed to learn m from them
# A level on names standing in for one on people (:attr:`Level.stands_in_for`) weighs
# at least this factor (one bit) less: strangers meet the name version more often (every
# pair meeting the one meets the other, and namesakes' pairs too); at one weight the
# two levels could not be told from their weights either (:func:`_tied`).
ALIKE_BELOW = 2.0
# Learning the adults' rate of matches scores every blocked pair (millions at county
# scale): a chunk of this many records at a time, so DuckDB holds one chunk's pairs
# rather than all of them beside the load's own memory (benchmarks/README.md,
# "Linkage's memory by phase").
CHUNK_ROWS = 250_000
# While they are scored, the pairs that could reach the review threshold under a rate
# up to this many times the prior are kept (the rate learnt has been within a few times
# the prior: each person has a few records): a higher rate has them scored again.
LAMBDA_HEADROOM = 2**8


@dataclass(frozen=True)
class Level:
    """One comparison level: how it is tested, its words, and its prior m and u."""

    label: str  # what it means, in words (shown to reviewers)
    m: float
    u: float
    sql: str | None = None  # a condition on the _l and _r columns; None: the else level
    make: Callable[[bool], object] | None = None  # a Splink level (given: tf allowed)
    fix_m: bool = False  # a rule, not a measurement: training leaves m as it is
    fix_u: bool = False  # nor u (a level made to weigh nothing: m and u equal)
    # In a conditioned comparison (:attr:`Comparison.condition`): the prior share of
    # different people meeting this level who also meet the condition. Of two different
    # adults who share a home or a child, about one pair in ten could be taken for one
    # person by given name and sex (a parent and an adult child named alike, housemates):
    # most such pairs are partners, whose names differ. Strangers who merely moved the
    # same day meet the condition as often as anyone (1.0).
    u_share: float = 1.0
    # A test only a person's own household meets (a co-parent, a partner, a housemate:
    # a few people whatever the county's size), so the share of random pairs meeting it
    # falls as one over the people compared, as the learnt chance of a match does.
    # Where no sampled pair meets it, its u is at most one such person among the others
    # (times ``u_share``), not the fixed prior alone: a prior that is one number for
    # every county weighs the evidence ever less as the county grows, while the learnt
    # chance of a match falls (:func:`_conditional_u`; benchmarks/README.md, "Linkage").
    per_person: bool = False
    # List columns (left, right): a pair meets this level's own test only where one's
    # ``left`` list shares a value with the other's ``right`` (a test holds it:
    # tests/test_linkage_pairs_on.py). The share of every pair of the frame meeting it
    # (the first level that holds) is counted over the pairs sharing such a value, not
    # sampled: the sample's million pairs are every pairing of two samples of about
    # 1,400 people, so a test met only within a few households is missed by it, or
    # met by a pair or two, whatever its true share.
    pairs_on: tuple[str, str] | None = None
    # A level on names that stands in for this one on people ("each lived with someone
    # of the same name" for "both lived with the same person"): strangers meet the name
    # version more often, so it weighs less than this level does (:data:`ALIKE_BELOW`).
    stands_in_for: Level | None = None


@dataclass(frozen=True)
class Comparison:
    name: str
    columns: tuple[str, ...]  # left out when every record lacks all of these
    null: str  # when there is nothing to compare
    levels: tuple[Level, ...]  # most to least alike; the last is the else level
    exact: int | None = None  # the index of the level that means "the same value"
    # Every level but the last holds only where this also holds (on the _l and _r
    # columns): evidence that counts only between records that could be one person.
    # Splink's u for such a level would be P(level and condition), counting again what
    # another comparison already counts (the condition); it is measured instead as the
    # share of random pairs meeting the level alone, times the level's ``u_share``
    # (:func:`_conditional_u`).
    condition: str | None = None


def with_m(comparison: Comparison, ms: tuple[float | Level, ...], before_else: Level) -> Comparison:
    """The same comparison with other prior m probabilities, fixed (not trained), and
    one more level before its last. An entry of ``ms`` that is a :class:`Level` stands
    in for that level whole (its m fixed too)."""
    levels = [
        replace(m, fix_m=True) if isinstance(m, Level) else replace(level, m=m, fix_m=True)
        for level, m in zip(comparison.levels, ms, strict=True)
    ]
    levels.insert(-1, replace(before_else, fix_m=True))
    return replace(comparison, levels=tuple(levels))


@dataclass(frozen=True)
class Model:
    """A Splink model: its comparisons, blocking, and what it trains from."""

    name: str
    comparisons: tuple[Comparison, ...]
    blocking: Callable[[], list]  # blocking rules for predictions
    deterministic: Callable[[], list]  # rules whose pairs are nearly all matches
    em_rules: Callable[[], list]  # blocking rules for expectation maximisation
    needs: tuple[str, ...]  # columns one of which must have values to score at all
    # learn the probability two random records match from the blocked pairs' weights
    # (:func:`_learn_lambda`), not from the deterministic rules
    lambda_from_pairs: bool = False
    train_m: bool = True  # False: m stays as the priors say (documented, not learnt)
    # the columns each blocking rule joins (left, right), one equality of each: a
    # delta's new records are scored against the rows sharing one (:mod:`.scope`)
    keys: tuple[tuple[str, str], ...] = ()


class OutOfMemory(Exception):
    """The engine could not hold a model's pairs within its memory (and spill)."""


@dataclass
class Scored:
    """Pairs scored at or above the review threshold, with each comparison's level."""

    left: list[str] = field(default_factory=list)
    right: list[str] = field(default_factory=list)
    probability: list[float] = field(default_factory=list)
    levels: dict[str, list[str]] = field(default_factory=dict)  # comparison -> label
    agreed: list[str] = field(default_factory=list)  # fields that agreed exactly
    trained: dict | None = None  # the model as scored, to score another round with it

    def __len__(self) -> int:
        return len(self.left)


def exact_gamma(c: Comparison) -> int | None:
    """The gamma value of a comparison's "the same value" level. Splink numbers levels
    from the bottom (else 0, the first listed highest), nulls -1."""
    return None if c.exact is None else len(c.levels) - 1 - c.exact


def agreed_fields(comparisons: tuple[Comparison, ...], gammas: dict[str, int]) -> str:
    """The fields that agreed exactly in one scored pair (``gamma_<name>`` values)."""
    agreed = [
        c.name
        for c in comparisons
        if c.exact is not None and gammas.get(f"gamma_{c.name}") == exact_gamma(c)
    ]
    return ", ".join(agreed) or "no field agreed exactly"


def save_model(linker: Linker, path: Path, columns: tuple[str, ...], thresholds: dict) -> None:
    """Keep the trained model beside the load's reports: Splink's settings with their m
    and u probabilities, and the frequency of each name in ``columns`` (the exact name
    levels are adjusted by it), for :mod:`loaders.scoring`. Written whole, then renamed,
    and readable only by this user: it lists the names in the data, though no record."""
    frequencies = {}
    for column in columns:
        table = linker.table_management.compute_tf_table(column).as_pandas_dataframe()
        frequencies[column] = dict(zip(table.iloc[:, 0], table.iloc[:, 1], strict=True))
    body = {"splink": linker.misc.save_model_to_json(), "frequencies": frequencies, **thresholds}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        json.dump(body, fh)
    os.replace(partial, path)


def prior_lambda(records: int) -> float:
    """The prior probability that two random records are one person: each record is
    expected to have at most one other record of the same person, and no more than one
    pair in a thousand to match (a small file seldom repeats anyone)."""
    return 1 / max(records, 1_000)


def score(
    model: Model,
    frame: pa.Table,
    *,
    review_threshold: float,
    memory_limit: str | None,
    notes: list[str],
    trained: dict | None = None,
    keep: Callable[[Linker], None] | None = None,
    backend: str | None = None,
    touched: frozenset[str] | None = None,
) -> Scored:
    """Score ``frame``'s record pairs with ``model``; never raises on small or sparse
    input (what it could not learn, it takes from the priors, and says so).
    ``trained``: a model an earlier round learnt (``Scored.trained``), used as it is
    (its probability that two records match too: :func:`~loaders.linkage.relational.carried`);
    ``keep``: called with the model once trained (to save it); ``backend``: where
    Splink runs (:mod:`loaders.linkage.backend`; default: the setting); ``touched``:
    score only the pairs one of whose records' ``unique_id`` is in it (a delta's new
    records against the rest and each other), name frequencies still from every row.
    Raises :class:`OutOfMemory` when the engine runs out of memory, for the caller to
    score fewer pairs or go without."""
    rows = frame.num_rows
    if rows < 2:
        return Scored()
    usable = [c for c in model.comparisons if any(_has_values(frame, col) for col in c.columns)]
    if not any(_has_values(frame, col) for col in model.needs):
        notes.append(
            f"{model.name}: no names or dates of birth to compare in {rows:,} records; "
            "linked on checked identifiers and local ids alone"
        )
        return Scored()
    left_out = [c.name for c in model.comparisons if c not in usable]
    if left_out:
        notes.append(f"{model.name}: no values to compare for {', '.join(left_out)}")
    small = rows < SMALL_INPUT
    logging.getLogger("splink").setLevel(logging.ERROR)
    with engines.opened(memory_limit or LINKAGE_MEMORY, backend) as engine:
        try:
            return _score(
                engine,
                model,
                usable,
                frame,
                small,
                review_threshold,
                notes,
                trained,
                keep,
                touched,
            )
        except Exception as exc:
            if engines.out_of_memory(exc):
                raise OutOfMemory(f"{model.name}: {_why(exc)}") from exc
            raise


def _has_values(frame: pa.Table, column: str) -> bool:
    return column in frame.column_names and frame[column].null_count < frame.num_rows


def _settings(model: Model, usable: list[Comparison], small: bool, rows: int, dialect: str | None):
    """Splink's settings for ``model``; ``dialect``: translate the levels' SQL (written
    for DuckDB) for another engine."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    def custom(sql: str) -> object:
        if dialect:  # translated by Splink from the SQL as declared
            return cll.CustomLevel(sql, base_dialect_str="duckdb")
        return cll.CustomLevel(engines.duckdb_sql(sql))

    comparisons = []
    for c in usable:
        levels = [custom(c.null).configure(is_null_level=True)]
        for level in c.levels:
            if level.make is not None:
                made = level.make(not small)
            elif level.sql is not None and c.condition:
                # the level's own test first: the condition (a name's similarity) is
                # worked out only for the pairs that meet it, not again at every level
                made = custom(f"({level.sql}) AND ({c.condition})")
            elif level.sql is not None:
                made = custom(level.sql)
            else:
                made = cll.ElseLevel()
            levels.append(
                made.configure(
                    m_probability=level.m,
                    u_probability=level.u,
                    label_for_charts=level.label,
                    fix_m_probability=level.fix_m,
                    fix_u_probability=level.fix_u,
                )
            )
        comparisons.append(cl.CustomComparison(output_column_name=c.name, comparison_levels=levels))
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=model.blocking(),
        probability_two_random_records_match=prior_lambda(rows),
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
    )


def _score(
    engine: Backend,
    model: Model,
    usable: list[Comparison],
    frame: pa.Table,
    small: bool,
    review_threshold: float,
    notes: list[str],
    trained: dict | None,
    keep: Callable[[Linker], None] | None,
    touched: frozenset[str] | None = None,
) -> Scored:
    table = engine.register(frame)
    reuse = trained is not None and _shape(trained) == [
        (c.name, [level.label for level in c.levels]) for c in usable
    ]
    settings = trained if reuse else _settings(model, usable, small, frame.num_rows, engine.dialect)
    # Splink's check of the settings against the input only logs warnings, which the
    # level set above drops; it parses every level's SQL again each call
    linker = Linker(table, settings, log_level=logging.ERROR, validate_settings=False)
    if small and not reuse:  # a kept model is scored as it was trained
        notes.append(
            f"{model.name}: {frame.num_rows:,} distinct records, too few to learn from: "
            "scored with the fixed priors in docs/linkage.md"
        )
    elif not reuse:
        _train(linker, model, frame, notes)
        _conditional_u(linker, engine, frame, usable)
        filled = _fill_untrained(linker, usable)
        if filled:
            notes.append(
                f"{model.name}: {filled} comparison level(s) never seen in training "
                "kept their priors"
            )
    if keep is not None:
        keep(linker)
    gamma = [f"gamma_{c.name}" for c in usable]
    tied = _tied(linker)
    if tied:
        notes.append(
            f"{model.name}: {'; '.join(tied)}, so a pair's levels cannot be told from its "
            "weights: the pairs are scored with every compared column kept (Splink's full "
            "predictions), and where the match rate is learnt from the pairs every blocked "
            "pair is scored twice"
        )
    df = None
    if model.lambda_from_pairs and not reuse:  # a trained model holds what it learnt
        df = _learn_lambda(
            linker,
            engine,
            frame.num_rows,
            model.name,
            notes,
            review_threshold if touched is None else None,
        )
    if df is None and touched is not None:
        df = _touched_pairs(engine, linker, frame, touched, review_threshold, gamma, model.keys)
    elif df is None:
        df = _predicted(linker, engine, review_threshold, gamma)
    scored = Scored(
        left=df["unique_id_l"].tolist(),
        right=df["unique_id_r"].tolist(),
        probability=[float(p) for p in df["match_probability"].tolist()],
        trained=linker.misc.save_model_to_json(),
    )
    # Splink numbers levels from the bottom: else 0, the first listed highest; null -1.
    mask = np.zeros(len(scored.left), dtype=np.int64)
    for bit, c in enumerate(usable):
        values = np.asarray(df[f"gamma_{c.name}"])
        top = len(c.levels) - 1
        words = {top - i: level.label for i, level in enumerate(c.levels)}
        words[-1] = ""
        scored.levels[c.name] = [words[v] for v in values.tolist()]
        if c.exact is not None:
            mask |= (values == exact_gamma(c)).astype(np.int64) << bit
    exact = [c.name for c in usable]
    texts = {
        m: ", ".join(name for b, name in enumerate(exact) if m >> b & 1)
        or "no field agreed exactly"
        for m in np.unique(mask).tolist()
    }
    scored.agreed = [texts[m] for m in mask.tolist()]
    return scored


def _shape(trained: dict) -> list[tuple[str, list[str]]]:
    """A trained model's comparisons and their levels' words: a model kept by a load of
    another version, whose levels differ, is trained again (its levels would be read as
    other words)."""
    return [
        (
            c["output_column_name"],
            [
                v.get("label_for_charts")
                for v in c["comparison_levels"]
                if not v.get("is_null_level")
            ],
        )
        for c in trained.get("comparisons", [])
    ]


def _touched_pairs(
    engine: Backend,
    linker: Linker,
    frame: pa.Table,
    touched: frozenset[str],
    review_threshold: float,
    gamma: list[str],
    keys: tuple[tuple[str, str], ...] = (),
) -> dict:
    """The pairs the model's blocking makes with a touched record on one side, scored
    (Splink's incremental ``predict_between`` and ``predict_within``), with the name
    frequencies of every row and the probability two records match as the model has
    it (learnt when it was trained, not again from these few pairs); against the rows
    sharing one of the blocking ``keys`` with a touched record only (:func:`.scope.mates`:
    no other row makes a pair with one)."""
    settings = linker._settings_obj  # Splink's parsed model: no public accessor
    for column in settings._term_frequency_columns:
        linker.table_management.compute_tf_table(column.name)
    mask = scope.new_rows(frame, touched)
    new = frame.filter(mask)
    rest = scope.mates(new, frame.filter(pc.invert(mask)), keys)
    columns = ["unique_id_l", "unique_id_r", "match_probability", *gamma]
    found: dict[str, list] = {c: [] for c in columns}
    if new.num_rows == 0:
        return {c: np.asarray(v) for c, v in found.items()}
    left = engine.register(new)
    parts = [linker.inference.predict_within(left, threshold_match_probability=review_threshold)]
    if rest.num_rows:
        parts.append(
            linker.inference.predict_between(
                left, engine.register(rest), threshold_match_probability=review_threshold
            )
        )
    for part in parts:
        got = engine.fetch(part, columns)
        for c in columns:
            found[c].extend(np.asarray(got[c]).tolist())
    return {c: np.asarray(v) for c, v in found.items()}


def _train(linker: Linker, model: Model, frame: pa.Table, notes: list[str]) -> None:
    """Learn what the data can teach; keep the priors for the rest, saying why."""
    from splink.internals.exceptions import EMTrainingException

    name = model.name
    try:
        if not model.lambda_from_pairs:
            linker.training.estimate_probability_two_random_records_match(
                model.deterministic(), recall=0.7
            )
            if not 0 < linker._settings_obj._probability_two_random_records_match < 1:
                raise ValueError("the deterministic rules found no pair, or only pairs")
    except (ValueError, ZeroDivisionError, ArithmeticError) as exc:
        notes.append(f"{name}: prior kept for how often two records match ({_why(exc)})")
        linker._settings_obj._probability_two_random_records_match = prior_lambda(frame.num_rows)
    try:
        _estimate_u(linker, {c.name for c in model.comparisons if c.condition})
    except (ValueError, ZeroDivisionError, ArithmeticError) as exc:
        notes.append(f"{name}: prior u probabilities kept ({_why(exc)})")
    if not model.train_m:
        return
    if "label" in frame.column_names:
        labelled = pc.value_counts(frame["label"]).field("counts")
        known = pc.sum(pc.greater(labelled, 1)).as_py() or 0
    else:
        known = 0
    if known >= MIN_LABELLED:
        try:
            linker.training.estimate_m_from_label_column("label")
            return
        except (ValueError, ZeroDivisionError, ArithmeticError) as exc:
            notes.append(f"{name}: m not learnt from known matches ({_why(exc)})")
    trained = 0
    for rule in model.em_rules():
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
            trained += 1
        except (EMTrainingException, ValueError, ZeroDivisionError, ArithmeticError) as exc:
            notes.append(f"{name}: one training rule gave nothing to learn from ({_why(exc)})")
    if not trained:
        notes.append(f"{name}: prior m probabilities kept (nothing to train them on)")


def _estimate_u(linker: Linker, measured: set[str]) -> None:
    """Splink's u by random sampling, for every comparison but those named in
    ``measured``: a conditioned comparison's u is measured by :func:`_conditional_u`
    instead, and Splink's estimate of it (its list tests over :data:`U_PAIRS`, the
    costliest part of training the adults' model) would be thrown away."""
    settings = linker._settings_obj
    every = settings.comparisons
    settings.comparisons = [c for c in every if c.output_column_name not in measured]
    try:
        if settings.comparisons:
            linker.training.estimate_u_using_random_sampling(
                max_pairs=U_PAIRS, seed=1, min_count_per_level=None, num_chunks=1
            )
    finally:
        settings.comparisons = every


def _learn_lambda(
    linker: Linker,
    engine: Backend,
    rows: int,
    name: str,
    notes: list[str],
    threshold: float | None = None,
) -> dict | None:
    """The probability two random records match, as the share of matches among every
    pair of ``rows`` records that the blocked pairs' Bayes factors imply: expectation
    maximisation of this one parameter, the factors held as trained (the likelihood is
    concave in it, so the answer is unique; pairs no blocking rule meets count as
    non-matches). Sets it on the model. Every blocked pair is scored for it, keeping
    only its weights (the compared columns, lists among them, made each pair kilobytes:
    at county scale more than the engine's memory), a chunk of the records at a time
    (:func:`_chunks`): the engine holds one chunk's pairs, not every pair.

    ``threshold``: also return the pairs at or above this probability as learnt, with
    their levels told from their weights (:func:`_levels_sql`), instead of having every
    pair scored again for them; None where a level's weight is not its own, or where
    the rate learnt is above :data:`LAMBDA_HEADROOM` times the prior (the pairs kept
    while scoring could then miss one: the caller scores them again)."""
    settings = linker._settings_obj
    levels = _levels_sql(linker) if threshold is not None else None
    prior = settings._probability_two_random_records_match
    ceiling = min(0.5, LAMBDA_HEADROOM * prior)
    terms = [t for c in settings.comparisons for t in c._match_weight_columns_to_sum]
    kept_columns: list[str] = []
    where = None
    if levels is not None and threshold is not None:
        from splink.internals.misc import threshold_args_to_match_weight

        # match_weight is the prior's weight plus the terms: a pair that reaches the
        # threshold under any rate up to the ceiling (less a bit for rounding) is kept
        floor = threshold_args_to_match_weight(threshold, None) - _logit(ceiling) + _logit(prior)
        where = f"match_weight >= {floor - 1.0!r}"
        kept_columns = ["unique_id_l", "unique_id_r", "match_weight", *terms, *levels.cases]
    weights: list[np.ndarray] = []
    kept: list[dict] = []
    with _weights_only(settings, levels):
        for part in _chunked_predictions(linker, _chunks(rows) if engine.name == "duckdb" else 1):
            weights.append(np.asarray(engine.fetch(part, ["match_weight"])["match_weight"]))
            if where is not None:
                kept.append(engine.fetch(part, kept_columns, where=where))
            part.drop_table_from_database_and_remove_from_cache()
    every = np.concatenate(weights) if weights else np.zeros(0)
    lam = _lambda_from(every, prior, rows)
    found = None
    if levels is not None and threshold is not None and lam <= ceiling:
        found = _above(linker, engine, kept, terms, lam, threshold)
    settings._probability_two_random_records_match = lam
    total = rows * (rows - 1) / 2
    notes.append(
        f"{name}: about {lam * total:,.0f} of {total:,.0f} pairs are one person (learnt from "
        f"{len(every):,} blocked pairs)"
    )
    return found


def _chunks(rows: int) -> int:
    """How many chunks of the records every blocked pair is scored in on DuckDB: one a
    :data:`CHUNK_ROWS` records (each chunk scores a share of the pairs blocked once).
    Spark spills what it cannot hold by itself, and is given one (the split below takes
    DuckDB's ``hash``, which is unsigned)."""
    return max(1, -(-rows // CHUNK_ROWS))


def _chunked_predictions(linker: Linker, chunks: int) -> Iterator[Any]:
    """Every blocked pair scored, in ``chunks`` parts, each part's pairs a table of its
    own for the caller to drop. The blocked pairs (two ids and a rule a pair: a small
    share of a scored pair's size) are found once and split by their left record;
    Splink's chunked prediction would block every record again for each chunk (the
    rules on lists explode every record's lists each time)."""
    if chunks == 1:
        yield linker.inference.predict()
        return
    from splink.internals.chunking import _blocked_pairs_cache_key
    from splink.internals.pipeline import CTEPipeline

    key = _blocked_pairs_cache_key()  # where Splink keeps the pairs predict() scores
    inference, tables = linker.inference, linker.table_management
    blocked = inference.compute_blocked_pairs_for_predict()
    try:
        for number in range(chunks):
            pipeline = CTEPipeline([blocked])
            pipeline.enqueue_sql(
                f"SELECT * FROM {blocked.physical_name} "  # noqa: S608 (Splink's own table)
                f"WHERE hash(join_key_l) % {chunks} = {number}",
                "__splink__blocked_id_pairs_part",
            )
            part = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
            tables.register_blocked_pairs_for_predict(part)
            try:
                yield inference.predict(warning_mode="never")
            finally:
                linker._intermediate_table_cache.pop(key, None)
                part.drop_table_from_database_and_remove_from_cache()
    finally:
        linker._intermediate_table_cache.pop(key, None)
        blocked.drop_table_from_database_and_remove_from_cache()


def _above(
    linker: Linker,
    engine: Backend,
    kept: list[dict],
    terms: list[str],
    lam: float,
    threshold: float,
) -> dict:
    """Of the pairs :func:`_learn_lambda` kept (each comparison's weight terms and
    level), those at or above ``threshold`` under the rate ``lam``, with their weight
    and probability by Splink's own sums of the terms, as scoring every pair again
    under ``lam`` would give them to the last bit."""
    from splink.internals.misc import threshold_args_to_match_weight
    from splink.internals.predict import _combine_prior_and_mws

    gamma = [f"gamma_{c.output_column_name}" for c in linker._settings_obj.comparisons]
    columns = ["unique_id_l", "unique_id_r", *terms, *gamma]
    table = pa.table({c: _arrow([np.ma.asarray(part[c]) for part in kept], c) for c in columns})
    weight, probability = _combine_prior_and_mws(lam, terms, linker._sql_dialect)
    if engine.dialect:  # Splink's expressions are written for DuckDB
        import sqlglot

        weight, probability = (
            sqlglot.transpile(x, read="duckdb", write=engine.dialect)[0]
            for x in (weight, probability)
        )
    registered = engine.register(table)
    return engine.fetch(
        registered,
        [
            "unique_id_l",
            "unique_id_r",
            f"{weight} AS weight",
            f"{probability} AS match_probability",
            *gamma,
        ],
        where=f"weight >= {threshold_args_to_match_weight(threshold, None)!r}",
    )


def _arrow(parts: list[np.ma.MaskedArray], column: str) -> pa.Array:
    """Fetched columns' parts as one Arrow column (ids as text), nulls kept."""
    joined = np.ma.concatenate(parts) if parts else np.ma.asarray(np.zeros(0))
    mask = np.ma.getmaskarray(joined)
    kind = pa.string() if column.startswith("unique_id") else None
    return pa.array(np.ma.getdata(joined), type=kind, mask=mask if mask.any() else None)


def _predicted(linker: Linker, engine: Backend, threshold: float, gamma: list[str]) -> dict:
    """The pairs at or above ``threshold``, with each comparison's level: told from its
    weight (:func:`_levels_sql`) where it can be, so that Splink's predictions carry no
    compared column (the lists of both records, for every pair); else as Splink
    numbers them, with every compared column kept."""
    levels = _levels_sql(linker)
    columns = ["unique_id_l", "unique_id_r", "match_probability"]
    if levels is None:
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        return engine.fetch(predictions, [*columns, *gamma])
    with _weights_only(linker._settings_obj, levels):
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        found = engine.fetch(predictions, [*columns, *levels.cases])
        predictions.drop_table_from_database_and_remove_from_cache()
    return found


@dataclass(frozen=True)
class _Levels:
    """Each comparison's level as SQL over Splink's predictions (``... AS gamma_<name>``),
    and the input columns those predictions must keep for it."""

    cases: list[str]
    kept: list[str]


@contextlib.contextmanager
def _weights_only(settings: Any, levels: _Levels | None) -> Iterator[None]:
    """Splink's predictions without the compared columns (Splink's own training does so
    too; with them, every blocking rule's column is kept as well), with each comparison's
    weight where ``levels`` are to be told from them, and the columns they need."""
    saved = (
        settings._retain_matching_columns,
        settings._retain_intermediate_calculation_columns,
        settings._additional_col_names_to_retain,
    )
    settings._retain_matching_columns = False
    settings._retain_intermediate_calculation_columns = levels is not None
    settings._additional_col_names_to_retain = [] if levels is None else levels.kept
    try:
        yield
    finally:
        (
            settings._retain_matching_columns,
            settings._retain_intermediate_calculation_columns,
            settings._additional_col_names_to_retain,
        ) = saved


def _levels_sql(linker: Linker) -> _Levels | None:
    """Each comparison's level (``gamma_<name>``) told from its match weight column
    (``mw_<name>``, Splink's intermediate column, written as each level's weight), where
    every level of every comparison has a weight of its own; else None. A level that
    weighs nothing (m and u equal) shares the null level's weight (0): the pairs at that
    weight are told apart by the null level's own test, on the columns it reads (kept)."""
    if _tied(linker):
        return None
    out, kept = [], []
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        null = [lv for lv in comparison.comparison_levels if lv.is_null_level]
        pairs = [
            (lv._match_weight, lv.comparison_vector_value)
            for lv in comparison.comparison_levels
            if not lv.is_null_level
        ]
        weights = [w for w, _ in pairs]
        cases = []
        for w, v in pairs:
            then = str(v)
            if null and w == null[0]._match_weight:
                reads = [c.unquote().name for c in null[0]._input_columns_used_by_sql_condition]
                kept += [c for c in reads if c not in kept]
                then = f"CASE WHEN {null[0].sql_condition} THEN -1 ELSE {v} END"
            cases.append(f"WHEN mw_{name} = CAST({w!r} AS DOUBLE) THEN {then}")
        if null and null[0]._match_weight not in weights:
            cases.insert(0, f"WHEN mw_{name} = CAST({null[0]._match_weight!r} AS DOUBLE) THEN -1")
        out.append(f"CASE {' '.join(cases)} END AS gamma_{name}")
    return _Levels(out, kept)


def _tied(linker: Linker) -> list[str]:
    """In words, each comparison whose levels (but the null level) cannot be told apart
    by their match weights: two that weigh the same, or one with no finite weight (m or
    u of 0). Empty where :func:`_levels_sql` can tell every level from its weight."""
    found = []
    for comparison in linker._settings_obj.comparisons:
        by_weight: dict[float, list[str]] = {}
        for lv in comparison.comparison_levels:
            if lv.is_null_level:
                continue
            w = lv._match_weight
            if w is None or not np.isfinite(w):
                found.append(
                    f"{comparison.output_column_name}'s level '{lv.label_for_charts}' "
                    "has no finite weight"
                )
                continue
            by_weight.setdefault(w, []).append(f"'{lv.label_for_charts}'")
        for w, labels in by_weight.items():
            if len(labels) > 1:
                found.append(
                    f"{comparison.output_column_name}'s levels {' and '.join(labels)} weigh "
                    f"the same ({w:.3f})"
                )
    return found


def _logit(p: float) -> float:
    """A probability as a match weight (log2 odds)."""
    return float(np.log2(p / (1 - p)))


def _lambda_from(weights: object, prior: float, rows: int) -> float:
    """:func:`_learn_lambda`'s expectation maximisation, from the blocked pairs' match
    weights under ``prior``."""
    factors = np.asarray(weights, dtype=np.float64) - _logit(prior)  # log2 Bayes factors
    total = rows * (rows - 1) / 2
    lam = prior
    for _ in range(200):
        odds = np.log2(lam / (1 - lam))
        expected = float(np.sum(1 / (1 + np.exp2(-(factors + odds)))))
        new = min(max(expected / total, 1e-12), 0.5)
        if abs(new - lam) <= 1e-6 * lam:
            lam = new
            break
        lam = new
    return lam


def _why(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__


def _conditional_u(linker: Linker, engine: Backend, frame: pa.Table, usable: list) -> None:
    """Each conditioned comparison's u: the share of random pairs (up to about a
    million) meeting each level's own test, the first that holds, times the prior share
    of them that would meet the condition (see :attr:`Comparison.condition`). A level
    that declares the lists its test shares a value of (:attr:`Level.pairs_on`) takes
    its share of every pair of the frame instead, whether or not the sample met it
    (counted, not sampled: a sample's few pairs of a household's test are noise; the
    pairs of one person among them counted as strangers, so it weighs no more than it
    should; an engine that does not count keeps the sample's share). A level no pair
    meets keeps its prior, or for a :attr:`Level.per_person` test at most one person's
    share of the frame's pairs (:func:`unmeasured_u`). A level standing in for another
    (:attr:`Level.stands_in_for`) then weighs less than that one."""
    for comparison in linker._settings_obj.comparisons:
        c = next((x for x in usable if x.name == comparison.output_column_name), None)
        if c is None or not c.condition:
            continue
        tests = [level.sql for level in c.levels[:-1]]
        shares = engine.shares(frame, tests)
        on = {i: spec.pairs_on for i, spec in enumerate(c.levels[:-1]) if spec.pairs_on}
        every = engine.every_pair_shares(frame, tests, on) if on else {}
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        for i, (level, spec, share) in enumerate(
            zip(levels[:-1], c.levels[:-1], shares, strict=True)
        ):
            counted = every.get(i, 0.0)
            if counted > 0 or share > 0:
                level.u_probability = (counted or share) * spec.u_share
            elif spec.per_person:
                level.u_probability = unmeasured_u(spec, frame.num_rows)
        for level, spec in zip(levels[:-1], c.levels[:-1], strict=True):
            if spec.stands_in_for is not None:
                held = levels[c.levels.index(spec.stands_in_for)]
                level.u_probability = max(
                    level.u_probability,
                    ALIKE_BELOW * held.u_probability * level.m_probability / held.m_probability,
                )
        levels[-1].u_probability = max(1.0 - sum(lv.u_probability for lv in levels[:-1]), 0.01)


def unmeasured_u(level: Level, rows: int) -> float:
    """The u of a level no sampled pair met, among ``rows`` people: its prior, or for a
    test only a person's household meets, at most one of the other ``rows - 1`` people
    for each person (times the share meeting the condition), whichever is smaller."""
    if not level.per_person:
        return level.u
    return min(level.u, level.u_share / max(rows - 1, 1))


def _fill_untrained(linker: Linker, usable: list[Comparison]) -> int:
    """Levels training never observed take their prior, not Splink's tiny stand-in."""
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    filled = 0
    spec = {c.name: c for c in usable}
    for comparison in linker._settings_obj.comparisons:
        c = spec.get(comparison.output_column_name)
        if c is None:
            continue
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        for level, prior in zip(levels, c.levels, strict=True):
            if level._m_probability in (None, LEVEL_NOT_OBSERVED_TEXT):
                level.m_probability = prior.m
                filled += 1
            if level._u_probability in (None, LEVEL_NOT_OBSERVED_TEXT):
                level.u_probability = prior.u
                filled += 1
    return filled
