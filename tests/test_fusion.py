"""Reciprocal rank fusion and merging of overlapping hits."""
from __future__ import annotations

import pytest

from lecturefind.rank.fusion import Hit, merge_hits, rrf

# -- rrf -------------------------------------------------------------------------------------------

def test_rrf_single_ranking_is_one_over_k_plus_rank():
    out = rrf([["a", "b", "c"]], k=60)
    assert out == pytest.approx({"a": 1 / 61, "b": 1 / 62, "c": 1 / 63})


def test_rrf_sums_over_rankings():
    out = rrf([["a", "b"], ["b", "c", "a"]], k=10)
    assert out["a"] == pytest.approx(1 / 11 + 1 / 13)
    assert out["b"] == pytest.approx(1 / 12 + 1 / 11)
    assert out["c"] == pytest.approx(1 / 12)
    # an item ranked well by both beats one ranked first by only one
    assert out["b"] > out["a"] > out["c"]


def test_rrf_weights():
    out = rrf([["a"], ["b"]], k=0, weights=[2.0, 0.5])
    assert out == pytest.approx({"a": 2.0, "b": 0.5})
    # zero weight removes a ranking's influence but keeps its items
    out = rrf([["a", "b"], ["b"]], k=60, weights=[1.0, 0.0])
    assert out["b"] == pytest.approx(1 / 62) and out["a"] == pytest.approx(1 / 61)


def test_rrf_empty_inputs():
    assert rrf([]) == {}
    assert rrf([[], []]) == {}
    assert rrf([[], ["x"]]) == pytest.approx({"x": 1 / 61})


def test_rrf_order_is_stable_for_ties_of_symmetric_rankings():
    out = rrf([["a", "b"], ["b", "a"]])
    assert out["a"] == pytest.approx(out["b"])


# -- merge_hits ------------------------------------------------------------------------------------

def spans(hits):
    return [(h.lecture_id, h.start, h.end, round(h.score, 3), h.page) for h in hits]


def test_overlapping_hits_of_one_lecture_merge_with_the_best_start():
    hits = [Hit(1, 10.0, 40.0, 0.5), Hit(1, 25.0, 55.0, 0.9), Hit(1, 30.0, 50.0, 0.7)]
    out = merge_hits(hits)
    assert len(out) == 1
    m = out[0]
    assert m.start == 25.0 and m.score == 0.9          # anchored on the best hit
    assert m.end == 55.0                               # spans what it absorbed after its start


def test_merged_payload_is_the_best_hits():
    out = merge_hits([Hit(1, 0.0, 30.0, 0.4, payload="low"), Hit(1, 10.0, 30.0, 0.8, payload="high")])
    assert [h.payload for h in out] == ["high"]


def test_output_is_sorted_best_first_and_inputs_untouched():
    hits = [Hit(1, 0.0, 10.0, 0.2), Hit(2, 0.0, 10.0, 0.9), Hit(3, 0.0, 10.0, 0.5)]
    out = merge_hits(hits)
    assert [h.lecture_id for h in out] == [2, 3, 1]
    assert [h.score for h in hits] == [0.2, 0.9, 0.5]
    out[0].end = 99.0
    assert hits[1].end == 10.0                         # merged hits are copies


def test_different_lectures_never_merge():
    out = merge_hits([Hit(1, 10.0, 40.0, 0.9), Hit(2, 10.0, 40.0, 0.8), Hit(3, 12.0, 38.0, 0.7)])
    assert sorted(h.lecture_id for h in out) == [1, 2, 3]


def test_disjoint_and_touching_hits_do_not_merge():
    out = merge_hits([Hit(1, 0.0, 30.0, 0.9), Hit(1, 30.0, 60.0, 0.8), Hit(1, 100.0, 130.0, 0.7)])
    assert spans(out) == [(1, 0.0, 30.0, 0.9, None), (1, 30.0, 60.0, 0.8, None), (1, 100.0, 130.0, 0.7, None)]


def test_overlapping_but_far_apart_starts_stay_separate():
    """A long hit overlapping a much later moment does not swallow it (starts >= 30 s apart)."""
    out = merge_hits([Hit(1, 0.0, 80.0, 0.9), Hit(1, 40.0, 70.0, 0.8)])
    assert len(out) == 2
    out = merge_hits([Hit(1, 0.0, 80.0, 0.9), Hit(1, 29.0, 70.0, 0.8)])
    assert len(out) == 1 and out[0].start == 0.0 and out[0].end == 80.0


def test_chain_of_overlaps_merges_into_the_best():
    """Every hit overlapping the best one is absorbed; the moment keeps the best hit's own extent."""
    hits = [Hit(1, 20.0, 50.0, 0.9), Hit(1, 0.0, 30.0, 0.8), Hit(1, 40.0, 70.0, 0.7)]
    out = merge_hits(hits)
    assert len(out) == 1
    assert out[0].start == 20.0 and out[0].end == 50.0 and out[0].score == 0.9


def test_pdf_pages_merge_only_with_the_same_page():
    hits = [Hit(7, 0.0, 0.0, 0.9, page=2), Hit(7, 0.0, 0.0, 0.8, page=3), Hit(7, 0.0, 0.0, 0.6, page=2),
            Hit(8, 0.0, 0.0, 0.7, page=2)]
    out = merge_hits(hits)
    assert spans(out) == [(7, 0.0, 0.0, 0.9, 2), (7, 0.0, 0.0, 0.8, 3), (8, 0.0, 0.0, 0.7, 2)]


def test_pdf_page_never_merges_with_a_timed_hit_of_the_same_lecture_id():
    out = merge_hits([Hit(5, 0.0, 30.0, 0.9), Hit(5, 0.0, 0.0, 0.8, page=1)])
    assert len(out) == 2


def test_empty():
    assert merge_hits([]) == []
