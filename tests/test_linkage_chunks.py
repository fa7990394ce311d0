"""The adults' first round scores every blocked pair in chunks of the records, keeping
only the pairs that could reach the review threshold: the same people, probabilities,
words and review queue as scoring them in one piece, and as scoring them all again
once the rate of matches is learnt (what happens when the rate is above the kept
pairs' headroom)."""

from __future__ import annotations

from benchmarks.linkage import partition, read_inputs, words
from tests.conftest import AS_OF


def test_scoring_in_chunks_links_as_scoring_in_one_piece(small_county, monkeypatch):
    """Also: the records are blocked once a scoring however many chunks it is in (each
    chunk blocking every record again cost as much as scoring them)."""
    from splink.internals.linker_components import inference

    import loaders.linkage as linkage
    from loaders.linkage import model

    inputs = read_inputs(small_county, AS_OF)
    chunks: list[int] = []
    scored: list[bool] = []  # each call scoring pairs at the threshold (later rounds')
    blockings: list[bool] = []  # each time Splink blocks the records for predictions
    chunked, predicted = model._chunked_predictions, model._predicted
    blocking = inference.compute_blocked_pairs_from_concat_with_tf

    def blocked(*args, **kwargs):
        blockings.append(True)
        return blocking(*args, **kwargs)

    monkeypatch.setattr(inference, "compute_blocked_pairs_from_concat_with_tf", blocked)

    def counting(linker, count):
        chunks.append(count)
        return chunked(linker, count)

    def again(*args, **kwargs):
        scored.append(True)
        return predicted(*args, **kwargs)

    monkeypatch.setattr(model, "_chunked_predictions", counting)
    monkeypatch.setattr(model, "_predicted", again)

    def run() -> tuple[str, str, int]:
        chunks.clear()
        scored.clear()
        blockings.clear()
        result = linkage.link(inputs.found, context=inputs.context)
        return partition(result.cluster_of), words(result), len(scored)

    whole = run()
    assert chunks == [1]  # the small county's adults: one chunk
    once = len(blockings)
    monkeypatch.setattr(model, "CHUNK_ROWS", 1_000)
    assert run() == whole
    assert len(chunks) == 1 and chunks[0] > 2
    assert len(blockings) == once  # blocked once, scored in chunks
    monkeypatch.setattr(model, "LAMBDA_HEADROOM", 1e-6)  # the rate learnt is above it
    people, said, calls = run()
    assert (people, said) == whole[:2]
    assert calls == whole[2] + 1  # the first round's pairs scored again
