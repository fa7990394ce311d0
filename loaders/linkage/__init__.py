"""Identity resolution: which source records are the same person.

Steps, in order of trust (``docs/linkage.md`` is the user's account of them):

0. **Compression**: records with identical identity fields are one (an attendance
   file repeats each pupil once per term), which keeps Splink's work close to the
   number of distinct identities rather than rows.
1. **Deterministic** links on identifiers that passed their check (UPN, NHS number,
   ULN) and the case system's own id, from sources trusted to hold them; an
   identifier shared by records whose date of birth *and* given name both disagree is
   a keying error and left to the next steps. A reviewer's accepted pairs join here.
2. **People** (:mod:`loaders.linkage.people`): Splink on names, date of birth, sex
   and postcode, over every record.
3. **Adults** (:mod:`loaders.linkage.relational`): Splink again over the adult side,
   comparing what surrounds each record (the resolved children it is named against,
   the households and addresses of its person) as well as who it says they are;
   repeated while a round links at least :data:`LAST_ROUND_SHARE` of the people it
   scored.

Every link, whatever made it, goes through :class:`~loaders.linkage.clusters.Clusters`,
which refuses one that would break a rule (two different valid UPNs, a parent under
12 years older than their child, ...): a refused link goes to review with its reason.
Pairs scored between the review and match thresholds go to review too, ranked by how
many children's networks the decision changes. A reviewer's rejected pairs are never
linked; their accepted pairs always are.

Pairs for review keep their evidence in words (:mod:`loaders.linkage.evidence`), as
each record's link does when asked (``evidence=True``; a load keeps none of them), and
how each model ran (trained, or on its fixed priors, and why) is in
:attr:`LinkResult.notes`.
"""

from __future__ import annotations

import datetime as dt
from collections import ChainMap, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
from itertools import compress
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph.review_queue import MATCH_THRESHOLD, REVIEW_THRESHOLD
from loaders.linkage import scope
from loaders.linkage.clusters import Clusters, Refused, Tangled, kept_groups
from loaders.linkage.evidence import describe_naming, same_identifier
from loaders.linkage.identity import (
    CHECKED_IDS,
    ID_FIELDS,
    Identity,
    LinkResult,
    ReviewCandidate,
    compressed,
    plain,
    swapped,
    years_before,
)
from loaders.linkage.inputs import Context, linkage_inputs
from loaders.linkage.kept_keys import KeptKeys, Reach, adult_keys, key_columns
from loaders.linkage.model import LINKAGE_MEMORY, OutOfMemory, Scored, save_model, score
from loaders.linkage.people import KEYS as PEOPLE_KEYS
from loaders.linkage.people import (
    MODEL_COLUMNS,
    PEOPLE,
    agreed_text,
    comparison_frame,
    people_frame,
)
from loaders.linkage.relational import (
    ADULTS,
    ADULTS_CONTEXT,
    CHILD_AGE,
    HOUSEHOLD,
    OUTWEIGH_AT_ONCE,
    ROUNDS,
    TIMELINE,
    Gathering,
    OwnRows,
    Surroundings,
    adults_frame,
    carried,
    coded,
    freshen,
    left_to_find,
    surroundings,
)
from loaders.nicknames import canonical_given

# the household levels that outweigh two addresses at once, as a scored pair names them
OUTWEIGH_LABELS = frozenset(level.label for level in OUTWEIGH_AT_ONCE)

# A round of the adults' pass that links fewer pairs than this share of the people it
# scored is the last: only the people its links joined (and those whose surroundings
# name them) can score otherwise in the next round, and so few find almost no more
# (docs/linkage.md, "Adults"; benchmarks/README.md, "The adults' rounds").
LAST_ROUND_SHARE = 0.01

__all__ = [
    "CHECKED_IDS",
    "ID_FIELDS",
    "LINKAGE_MEMORY",
    "MATCH_THRESHOLD",
    "MODEL_COLUMNS",
    "REVIEW_THRESHOLD",
    "Context",
    "Identity",
    "KeptKeys",
    "LinkResult",
    "ReviewCandidate",
    "agreed_text",
    "comparison_frame",
    "conflicting",
    "link",
    "linkage_inputs",
    "plain",
    "swapped_day_month",
]


def link(
    identities: Iterable[Identity],
    *,
    context: Context | None = None,
    accepted: Iterable[tuple[str, str]] = (),
    rejected: Iterable[tuple[str, str]] = (),
    match_threshold: float = MATCH_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
    memory_limit: str | None = None,
    model_path: Path | None = None,
    kept: Mapping[str, str] | None = None,
    models: Mapping[str, dict] | None = None,
    evidence: bool = True,
    keys: KeptKeys | None = None,
) -> LinkResult:
    """Cluster the records (see the module's docstring); ``model_path``: where to keep
    the trained people model (m and u probabilities, name frequencies) for
    :class:`loaders.scoring.Scorer` to score single enquiries with.

    ``kept``: the people an earlier load found (record uid -> person), to keep: their
    records start as one cluster a person, and only pairs with a record not in it (new
    or changed) are scored, by ``models`` (an earlier :attr:`LinkResult.models`, used
    as trained; a model missing is trained on every record first).

    ``evidence``: each record's link in words (:attr:`LinkResult.evidence`); a load
    passes False, as it keeps none of them. The pairs for review are worded either
    way.

    ``keys``: a delta's link over only a scope of the records (its new or changed
    ones, and those about them): the keys the last link kept, as tonight's people, and
    every record with its context. Where a new row's keys in a scoring meet a kept
    key, the kept key's people are block mates: their records, one ring about them and
    their context are added before that scoring (:mod:`loaders.linkage.kept_keys`).
    With it, each scoring's keys are kept (:attr:`LinkResult.keys`) for the next."""
    records = list(identities)
    context = context or Context()
    # 0. identical identities are one (compression): each record's representative (the
    # first record of its signature) and its place in reps, in order
    reps, rep_at = compressed(records)
    touched = None if kept is None else frozenset(r.rid for r in records if r.rid not in kept)
    if keys is not None:  # its records and context grow as it meets the kept keys
        context = replace(context, edges=list(context.edges), homes=dict(context.homes))
    clusters, tangled = _clusters(records, reps, rep_at, context, kept)
    reach = None
    if keys is not None:
        reach = Reach(keys, records, reps, rep_at, since=len(clusters.joined))
    models = models or {}
    run = _Run(clusters, ChainMap({r.rid: r for r in records}), context, rejected, match_threshold)
    run.worded = evidence
    # 1. deterministic on checked identifiers and local ids
    run.deterministic(reps)
    for left, right in accepted:
        if left in clusters.parent and right in clusters.parent:
            clusters.union(left, right)
    # 2. people with a date of birth, on who each record says they are (an undated
    # record, an adult's, is left to the next step, which sees its context too)
    notes = run.result.notes
    if tangled:  # the slower way, said so that a load slowed by it shows why
        notes.append(f"{tangled}: identical records joined one at a time")
    if touched is not None:
        names = ", ".join(sorted(models)) or "none"
        notes.append(
            f"{len(touched):,} new or changed records linked against the people kept; "
            f"models kept from the last load: {names} (any other trained on every record)"
        )
    frame = None
    if reach is not None:
        frame = _reached(run, reach, touched)
    dated = [r for r in reps if r.dob]
    keep = None
    if model_path is not None:
        thresholds = {"match_threshold": match_threshold, "review_threshold": review_threshold}
        keep = partial(save_model, path=model_path, columns=MODEL_COLUMNS, thresholds=thresholds)
    scored = _people_pairs(
        dated,
        clusters,
        review_threshold,
        memory_limit,
        notes,
        keep,
        models.get(PEOPLE.name),
        touched,
        frame,
    )
    run.result.models[PEOPLE.name] = scored.trained
    run.result.pairs = [
        (scored.left[i], scored.right[i], scored.probability[i], scored.agreed[i])
        for i in range(len(scored))
    ]
    run.result.probabilistic_links += run.apply(scored)
    del scored  # its levels are not held through the adults' pass (memory peaks there)
    # 3. adults, on what surrounds them, while a round links at least LAST_ROUND_SHARE
    # of its people; after the first round, only pairs with someone whose row changed
    # (their own or their household's links)
    adults = _Adults(run, reps, models.get(ADULTS.name), review_threshold, memory_limit, touched)
    adults.reach = reach
    for round_ in range(1, ROUNDS + 1):
        try:
            made = adults.round(round_)
        except OutOfMemory as exc:
            if adults.model is ADULTS_CONTEXT:
                notes.append(f"{exc}: the adults' pass stopped there, its links kept so far")
                break
            notes.append(f"{exc}: scored again on shared children and addresses only")
            adults.fall_back()
            continue
        run.result.relational_links += made
        if not made or made < LAST_ROUND_SHARE * adults.people:  # too few to change the next
            if made and round_ < ROUNDS:
                notes.append(
                    f"adults, round {round_}: {made:,} links among {adults.people:,} people, "
                    f"under {LAST_ROUND_SHARE:.0%} of them: the last round"
                )
            break
    roots = adults.roots()
    del adults  # its gathering, kept rows and hashes go before the records' people are made
    if reach is not None:
        run.result.keys = reach.made
    return run.finish(records, reps, rep_at, roots)


def _reached(run: _Run, reach: Reach, touched: frozenset[str] | None) -> pa.Table:
    """The people pass's frame once the people its new rows' keys meet among the kept
    keys are in the link (:class:`~loaders.linkage.kept_keys.Reach`); its keys kept."""
    wanted = None if touched is None else pa.array(sorted(touched), pa.string())
    while True:
        frame = people_frame([r for r in reach.reps if r.dob], run.clusters)
        if wanted is None:
            break
        new = frame.filter(scope.new_rows(frame, wanted))
        met = reach.met(new.select(key_columns(PEOPLE_KEYS)), run.clusters, adults=False)
        if not met or not _grown(run, reach, met):
            break
    reach.made.append(frame.select(key_columns(PEOPLE_KEYS)))
    return frame


def _grown(run: _Run, reach: Reach, people: set[str]) -> bool:
    """``people`` (and their ring) taken into the link; whether any record was."""
    added = reach.grow(people, run.clusters, run.context)
    run.by_rid.maps[-1].update((r.rid, r) for r in added)
    return bool(added)


class _Adults:
    """The adults' pass, a round at a time: what one round leaves the next (the model
    as trained, the records flattened for gathering their surroundings, each person's
    row hash and own part of the frame, the pairs expected still to find); each round's
    surroundings, frame and pairs go when it ends."""

    def __init__(
        self,
        run: _Run,
        reps: list[Identity],
        kept: dict | None,
        review_threshold: float,
        memory_limit: str | None,
        touched: frozenset[str] | None,
    ) -> None:
        self.run, self.reps, self.kept = run, reps, kept  # kept: as the last load trained
        self.review_threshold, self.memory_limit, self.touched = (
            review_threshold,
            memory_limit,
            touched,
        )
        self.model = ADULTS
        self.trained: dict | None = None
        self.before = None  # each person's row hash, last round (relational.freshen)
        self.gathering: Gathering | None = None  # the records, flattened once
        self.own = OwnRows()  # each person's own part of the frame, as last built
        self.left = 0.0  # pairs the rounds before expected and did not link
        self.people = 0  # the people the last round scored (its frame's rows)
        self.reach: Reach | None = None  # a scoped link's growth (link(keys=...))

    def fall_back(self) -> None:
        """Score on shared children and addresses only (own blocking: trained afresh)."""
        self.model, self.trained, self.before = ADULTS_CONTEXT, None, None

    def round(self, number: int) -> int:
        """Score one round's pairs and link them; returns the links made."""
        run = self.run
        clusters, context, notes = run.clusters, run.context, run.result.notes
        first = number == 1
        if self.gathering is None:
            self.gathering = Gathering(self.reps, clusters, context)
        while True:
            around = surroundings(self.reps, clusters, context, self.gathering, self.memory_limit)
            said: list[str] = []  # the caps' notes, of the frame kept
            frame, people = adults_frame(self.reps, clusters, around, said, self.own)
            # the touched records' people: a round's growth can change their roots
            touched = None if self.touched is None else frozenset(map(clusters.find, self.touched))
            if not self._grown(frame, around, touched):
                break
        if first:
            notes.extend(said)
        if self.reach is not None:
            self.reach.made.append(adult_keys(frame, around.uids, around.places))
        frame, self.before = freshen(frame, self.before)
        frame = coded(frame)
        run.by_rid = run.by_rid.new_child(people)  # made when the words read them
        if self.trained is not None:
            self.trained = carried(self.trained, self.left, frame.num_rows)
            notes.append(
                f"adults, round {number}: at least about {self.left:,.0f} pairs of "
                f"{frame.num_rows:,} people still to find (what the rounds before "
                "expected, less what they linked)"
            )
        # the people the round can score: a delta's pairs each have a touched person, so
        # its share of links is of those, not of everyone kept (LAST_ROUND_SHARE)
        self.people = frame.num_rows if touched is None else _among(frame, touched)
        scored = score(
            self.model,
            frame,
            review_threshold=self.review_threshold,
            memory_limit=self.memory_limit,
            notes=notes if self.trained is None and self.kept is None else [],
            trained=self.trained or (self.kept if self.model is ADULTS else None),
            touched=touched,
        )
        self.trained = scored.trained
        if first:
            run.result.models[ADULTS.name] = self.trained
        made = run.apply(scored, around)
        if self.trained is not None:
            now = self.gathering.roots(clusters, frame["unique_id"])
            self.left = left_to_find(self.trained, now)
        return made

    def _grown(self, frame: pa.Table, around: Surroundings, touched: frozenset[str] | None) -> bool:
        """Whether the people the new rows' keys meet among the kept keys were taken
        into the link (:class:`~loaders.linkage.kept_keys.Reach`): the round's frame is
        then made again, over them too. ``touched``: the touched records' roots."""
        reach, clusters = self.reach, self.run.clusters
        if reach is None or touched is None:
            return False
        new = frame.filter(scope.new_rows(frame, touched))
        met = reach.met(adult_keys(new, around.uids, around.places), clusters, adults=True)
        return bool(met) and _grown(self.run, reach, met)

    def roots(self) -> list[str]:
        """Each representative's person (its root's uid), as the rounds left them."""
        gathering = self.gathering or Gathering(self.reps, self.run.clusters, self.run.context)
        return gathering.uids.take(pa.array(gathering.roots(self.run.clusters))).to_pylist()


def _among(frame: pa.Table, people: frozenset[str]) -> int:
    """How many of the frame's people (its ``unique_id``s, each a person's root) are
    among ``people``."""
    return int(pc.sum(scope.new_rows(frame, people)).as_py() or 0)


def _people_pairs(
    reps: list[Identity],
    clusters: Clusters,
    review_threshold: float,
    memory_limit: str | None,
    notes: list[str],
    keep: Callable | None = None,
    trained: dict | None = None,
    touched: frozenset[str] | None = None,
    frame: pa.Table | None = None,
) -> Scored:
    """The first pass's scored pairs (a function of its own so tests can stand in);
    ``frame``: the people frame of ``reps``, where made already."""
    return score(
        PEOPLE,
        people_frame(reps, clusters) if frame is None else frame,
        review_threshold=review_threshold,
        memory_limit=memory_limit,
        notes=notes if trained is None else [],
        keep=keep,
        trained=trained,
        touched=touched,
    )


def _clusters(
    records: list[Identity],
    reps: list[Identity],
    rep_at: list[int],
    context: Context,
    kept: Mapping[str, str] | None,
) -> tuple[Clusters, str | None]:
    """The clusters linkage starts from: each representative's records one, and, with
    ``kept``, the kept people first (:func:`_kept_groups`), each record then joined to
    its representative's cluster where it is not in it already (a new or changed
    record, mostly); without, a record at a time where a uid is in two groups (and
    why, too)."""
    if kept is not None:
        clusters = Clusters(
            records, context.edges, context.homes, same=kept_groups(records, kept), alike=False
        )
        _join_representatives(clusters, records, reps, rep_at)
        return clusters, None
    try:
        return Clusters(records, context.edges, context.homes, same=rep_at), None
    except Tangled as exc:
        tangled = str(exc)
    clusters = Clusters(records, context.edges, context.homes)
    for r, at in zip(records, rep_at, strict=True):
        if reps[at] is not r:
            clusters.union(reps[at].rid, r.rid)
    return clusters, tangled


def _join_representatives(
    clusters: Clusters, records: list[Identity], reps: list[Identity], rep_at: list[int]
) -> None:
    """Each record joined to its representative's cluster, in order, as one union a
    record would; only the records whose cluster is another's than their
    representative's are met (a union of one cluster changes nothing)."""
    parent = clusters.parent
    rids = np.asarray([r.rid for r in records], dtype=object)
    at = np.asarray(rep_at, dtype=np.int64)
    firsts = np.unique(at, return_index=True)[1]  # each representative's place in records
    roots = np.asarray(list(map(parent.__getitem__, rids.tolist())), dtype=object)
    apart = np.flatnonzero(roots != roots[firsts[at]])
    for i in apart.tolist():
        clusters.union(reps[rep_at[i]].rid, rids[i])


class _Run:
    """One linkage run's state: the clusters, and what each step left for review."""

    def __init__(
        self,
        clusters: Clusters,
        by_rid: ChainMap[str, Identity],
        context: Context,
        rejected: Iterable[tuple[str, str]],
        match_threshold: float,
    ) -> None:
        self.clusters = clusters
        self.by_rid = by_rid
        self.context = context
        self.rejected = {frozenset(p) for p in rejected}
        self.match_threshold = match_threshold
        self.result = LinkResult(cluster_of={}, probability={})
        self.best: dict[str, float] = {}  # representative -> its best link's probability
        self.evidence: dict[str, str] = {}  # representative -> why it joined
        self.candidates: list[ReviewCandidate] = []
        self.refused_pairs: set[frozenset[str]] = set()
        self.worded = True  # each record's link in words (LinkResult.evidence)
        # a people-pass candidate's words need only its two records and levels: made in
        # finish for the candidates the review keeps (one a pair of people), not all
        self.unworded: dict[int, tuple[Identity, Identity, dict[str, str]]] = {}

    def refuse(
        self, candidate: ReviewCandidate, reason: Refused, roots: tuple[str, str] | None = None
    ) -> None:
        """``candidate`` to review with ``reason``; ``roots``: its two people, if found."""
        candidate.reason = str(reason)
        if reason.named:  # audited with the pair when the reason is shown
            candidate.named = tuple(sorted({*candidate.named, *reason.named}))
        self.candidates.append(candidate)
        if roots is None:
            roots = (self.clusters.find(candidate.left), self.clusters.find(candidate.right))
        key = frozenset(roots)
        if key not in self.refused_pairs:
            self.refused_pairs.add(key)
            self.result.prevented[reason.rule] += 1

    def deterministic(self, reps: list[Identity]) -> None:
        clusters, rejected = self.clusters, self.rejected
        find, rules, join = clusters.find, clusters.rules, clusters.join
        by_id: dict[tuple[str, str], list[Identity]] = defaultdict(list)
        for r in reps:
            if not r.trusted:
                continue
            for name in ID_FIELDS:
                value = getattr(r, name)
                if value:
                    by_id[(name, value)].append(r)
        for (name, _value), group in by_id.items():
            if len(group) < 2:
                continue
            first = group[0]
            for other in group[1:]:
                if _conflict(first, other) or (
                    rejected and frozenset((first.rid, other.rid)) in rejected
                ):
                    continue
                ra, rb = find(first.rid), find(other.rid)
                if ra == rb:
                    continue
                why = same_identifier(name)
                reason = rules(ra, rb)
                if reason is not None:
                    candidate = ReviewCandidate(first.rid, other.rid, 1.0, why, why)
                    self.refuse(candidate, reason, (ra, rb))
                    continue
                join(ra, rb)
                self.result.deterministic_links += 1
                if self.worded:
                    self.evidence.setdefault(other.rid, why)

    def apply(self, scored: Scored, around: Surroundings | None = None) -> int:
        """Link the pairs at or above the match threshold, likeliest first, unless a rule
        or a reviewer forbids; keep the rest for review. Returns the links made.

        A pair's two people are found once (the rules and the join take the roots);
        each record's likeliest link is kept after the links, from the pairs that
        counted (:meth:`_keep_best`); the pairs under the threshold come after every
        link, so no link changes whether their two sides are one."""
        clusters, result = self.clusters, self.result
        result.compared_pairs += len(scored)
        if not len(scored):
            return 0
        left, right, probability = scored.left, scored.right, scored.probability
        order, linkable = _likeliest_first(scored, self.match_threshold)
        find, rules, join = clusters.find, clusters.rules, clusters.join
        rejected = self.rejected  # mostly empty: no set made a pair then
        # the adults' pass asks whether the two were at two addresses at once, unless the
        # pair's own score counted it and the household evidence that outweighs it (a
        # child, a household's move: OUTWEIGH_AT_ONCE), in every round, a delta's too
        homes = around is not None
        timeline = scored.levels.get(TIMELINE.name) if homes else None
        household = scored.levels.get(HOUSEHOLD.name) if homes else None
        weighed = timeline is not None and household is not None
        at_once, outweigh = TIMELINE.levels[0].label, OUTWEIGH_LABELS
        places = self.context.places
        worded, best, seen = self.worded, self.best, set()
        counted: list[int] = []  # the pairs whose probability is their records' best so far
        made = 0
        for i in order[:linkable]:
            a, b = left[i], right[i]
            if rejected and frozenset((a, b)) in rejected:
                continue
            ra, rb = find(a), find(b)
            if ra != rb:
                reason = rules(ra, rb)
                if (
                    reason is None
                    and homes
                    and not (weighed and timeline[i] == at_once and household[i] in outweigh)
                ):
                    reason = clusters.apart(ra, rb, places)
                if reason is not None:
                    self.refuse(self._candidate(scored, i, around), reason, (ra, rb))
                    continue
                join(ra, rb)
                made += 1
                # the words only where they are kept: a record's likeliest link's (a
                # record met before in this call met a likelier or as likely pair)
                prob = probability[i]
                if worded and any(r not in seen and prob > best.get(r, 0.0) for r in (a, b)):
                    words = self._words(scored, i, around)[0]
                    for r in (a, b):
                        if r not in seen and prob > best.get(r, 0.0):
                            self.evidence[r] = words
            if worded:
                seen.update((a, b))
            counted.append(i)
        self._keep_best(scored, counted)
        for i in order[linkable:]:
            a, b = left[i], right[i]
            if rejected and frozenset((a, b)) in rejected:
                continue
            if find(a) != find(b):
                self.candidates.append(self._candidate(scored, i, around))
        return made

    def _keep_best(self, scored: Scored, counted: list[int]) -> None:
        """Each record's likeliest probability among the pairs ``counted`` into
        :attr:`best`, where likelier than it held. Both sides' records and
        probabilities in ascending probability: a dict built from them keeps each
        record's last, likeliest."""
        if not counted:
            return
        at = np.asarray(counted, dtype=np.int64)
        chances = np.asarray(scored.probability, dtype=np.float64)[at]
        rids = np.concatenate(
            [np.asarray(scored.left, dtype=object)[at], np.asarray(scored.right, dtype=object)[at]]
        )
        chances = np.concatenate([chances, chances])
        rising = np.argsort(chances, kind="stable")
        likeliest = dict(zip(rids[rising].tolist(), chances[rising].tolist(), strict=True))
        best = self.best
        if best:
            get = best.get
            likeliest = {rid: p for rid, p in likeliest.items() if p > get(rid, 0.0)}
        best.update(likeliest)

    def _candidate(self, scored: Scored, i: int, around: Surroundings | None) -> ReviewCandidate:
        """The pair for review, worded now where its words read the round's state (the
        adults' pass), else when :meth:`finish` keeps it."""
        left, right = scored.left[i], scored.right[i]
        made = ReviewCandidate(left, right, round(scored.probability[i], 4), scored.agreed[i])
        if around is None:
            levels = {name: labels[i] for name, labels in scored.levels.items()}
            self.unworded[id(made)] = (self.by_rid[left], self.by_rid[right], levels)
        else:
            made.evidence, made.named = self._words(scored, i, around)
        return made

    def _words(
        self, scored: Scored, i: int, around: Surroundings | None
    ) -> tuple[str, tuple[str, ...]]:
        """A scored pair's words, and the clusters they name."""
        levels = {name: labels[i] for name, labels in scored.levels.items()}
        a, b = self.by_rid[scored.left[i]], self.by_rid[scored.right[i]]
        return describe_naming(a, b, levels, self.clusters, self.context, around)

    def finish(
        self, records: list[Identity], reps: list[Identity], rep_at: list[int], roots: list[str]
    ) -> LinkResult:
        """The review queue, and each record's person, probability and words (its
        representative's: ``reps[rep_at[i]]`` stands for ``records[i]``, and its person
        is ``roots[rep_at[i]]``)."""
        clusters, result = self.clusters, self.result
        find = clusters.find
        # the likeliest pair of records stands for its two clusters; among equally likely
        # ones the least uids, as DuckDB returns scored pairs in no fixed order
        seen: set[frozenset[str]] = set()
        review = []
        for c in sorted(self.candidates, key=lambda c: (-c.probability, c.left, c.right)):
            key = frozenset((find(c.left), find(c.right)))
            if len(key) == 2 and key not in seen:
                seen.add(key)
                c.impact = len(
                    self._children_touched(find(c.left)) | self._children_touched(find(c.right))
                )
                pending = self.unworded.get(id(c))
                if pending is not None:
                    a, b, levels = pending
                    c.evidence, words_name = describe_naming(a, b, levels, clusters, self.context)
                    c.named = tuple(sorted({*c.named, *words_name}))  # and the reason's
                review.append(c)
        self.unworded.clear()
        result.review = review
        # a record's person, probability and words are its representative's, found a
        # representative at a time and taken by place (millions of records: a lookup by
        # uid a record each was most of the cost)
        rids = [r.rid for r in records]
        result.cluster_of.update(zip(rids, map(roots.__getitem__, rep_at), strict=True))
        likeliest = {rid: round(p, 4) for rid, p in self.best.items()}
        for kept, into in ((likeliest, result.probability), (self.evidence, result.evidence)):
            if kept:
                theirs = [kept.get(r.rid) for r in reps]
                found = list(map(theirs.__getitem__, rep_at))
                has = [value is not None for value in found]
                into.update(zip(compress(rids, has), compress(found, has), strict=True))
        return result

    def _children_touched(self, root: str) -> set[str]:
        """The children whose family networks include this person: themselves if a
        child, their children, and their parents' other children."""
        clusters, find = self.clusters, self.clusters.find
        born_after = years_before(self.context.as_of, CHILD_AGE) if self.context.as_of else ""
        out = {find(c) for c, _ in clusters.down.get(root, [])}
        for p, _ in clusters.up.get(root, []):
            out |= {find(c) for c, _ in clusters.down.get(find(p), [])}
        out.add(root)
        return {r for r in out if born_after and max(clusters.dobs.get(r, {""})) > born_after}


def _likeliest_first(scored: Scored, threshold: float) -> tuple[list[int], int]:
    """The pairs' positions, likeliest first, then by their two uids (DuckDB returns
    scored pairs in no fixed order), sorted in Arrow; and how many are at or above
    ``threshold`` (the first ones)."""
    chances = pa.array(scored.probability, pa.float64())
    pairs = pa.table(
        {
            "p": chances,
            "l": pa.array(scored.left, pa.string()),
            "r": pa.array(scored.right, pa.string()),
        }
    )
    order = pc.sort_indices(
        pairs, sort_keys=[("p", "descending"), ("l", "ascending"), ("r", "ascending")]
    )
    linkable = pc.sum(pc.greater_equal(chances, threshold)).as_py() or 0
    return order.to_pylist(), linkable


def conflicting(a: Identity, b: Identity) -> bool:
    """The deterministic step's guard, for one pair: the same identifier, but neither the
    birth date nor the given name agrees (a keying error, not the same person)."""
    return _conflict(a, b)


def swapped_day_month(day: str) -> str:
    """The ISO date with day and month swapped, where that is another real date; else ''
    (the comparisons' "day and month swapped" level, as a date to look people up by)."""
    if len(day) != 10 or day[5:7] == day[8:10]:
        return ""
    turned = f"{day[:4]}-{day[8:10]}-{day[5:7]}"
    try:
        dt.date.fromisoformat(turned)
    except ValueError:
        return ""
    return turned


def _conflict(a: Identity, b: Identity) -> bool:
    """Same identifier, but neither birth date nor given name agree: a keying error."""
    if not (a.dob and b.dob and a.given and b.given):
        return False
    dob_ok = a.dob == b.dob or swapped(a.dob, b.dob)
    name_ok = canonical_given(plain(a.given)) == canonical_given(plain(b.given)) or (
        plain(a.given)[:3] == plain(b.given)[:3]
    )
    return not dob_ok and not name_ok
