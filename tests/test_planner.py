"""Clip planning (`plan_clips`) and slide-change detection (`SlideChangeDetector`) on synthetic inputs."""
from __future__ import annotations

import random

import numpy as np
import pytest

from lecturefind.segment.planner import plan_clips
from lecturefind.segment.slides import SlideChangeDetector, frame_distance, is_black


def assert_valid_plan(spans, duration, start=0.0, max_len=80.0):
    """Every clip has positive length and respects max_len; together they cover [start, duration] gaplessly."""
    assert spans, "no clips planned"
    assert spans[0].start == pytest.approx(start, abs=1e-3)   # spans are rounded to ms
    assert spans[-1].end == pytest.approx(duration, abs=1e-3)
    for sp in spans:
        assert sp.end > sp.start, f"clip of zero/negative length: {sp}"
        assert sp.end - sp.start <= max_len + 1e-6, f"clip {sp} longer than {max_len}"
    for a, b in zip(spans, spans[1:]):
        assert b.start > a.start, f"clips not moving forward: {a} -> {b}"
        assert b.start <= a.end, f"gap between {a} and {b}"
        assert b.end > a.end, f"clip {b} adds nothing after {a}"


# -- plan_clips ---------------------------------------------------------------------------------

def test_nonpositive_duration_gives_nothing():
    assert plan_clips(0.0, []) == []
    assert plan_clips(-3.0, [1.0]) == []


@pytest.mark.parametrize("duration", [0.4, 5.0, 29.9, 30.0])
def test_shorter_than_one_window_is_one_clip(duration):
    spans = plan_clips(duration, [], window=30, overlap=10)
    assert len(spans) == 1
    assert spans[0].start == 0.0 and spans[0].end == pytest.approx(duration)


def test_exact_multiple_of_the_step():
    spans = plan_clips(90.0, [], window=30, overlap=10)
    assert [(s.start, s.end) for s in spans] == [(0, 30), (20, 50), (40, 70), (60, 90)]
    assert_valid_plan(spans, 90.0)


@pytest.mark.parametrize("duration,window,overlap", [(300, 30, 10), (1000, 45, 5), (187.3, 20, 8), (605, 60, 20)])
def test_overlap_is_respected_without_slide_changes(duration, window, overlap):
    spans = plan_clips(duration, [], window=window, overlap=overlap)
    assert_valid_plan(spans, duration)
    for a, b in zip(spans[:-1], spans[1:-1]):          # all but the (possibly folded) last clip
        assert a.end - b.start == pytest.approx(overlap, abs=1e-3)
        assert a.end - a.start == pytest.approx(window, abs=1e-3)
    # the last clip absorbed a short tail (< window/3) or adds at least window/3 after the previous clip
    last = spans[-1]
    assert overlap + window / 3 - 1e-3 <= last.end - last.start < window + window / 3 + 1e-3


def test_overlap_larger_than_half_window_is_capped():
    spans = plan_clips(200, [], window=30, overlap=25)
    assert_valid_plan(spans, 200)
    for a, b in zip(spans, spans[1:]):
        assert a.end - b.start <= 15.0 + 1e-3       # overlap <= window / 2, so the plan always advances


def test_clip_end_snaps_to_a_nearby_slide_change():
    # a change 2.5 s after the 30 s target is taken; the next clip starts 10 s before that end
    spans = plan_clips(200, [32.5, 130.0], window=30, overlap=10, snap=4)
    assert spans[0].end == pytest.approx(32.5)
    assert spans[1].start == pytest.approx(22.5)
    assert_valid_plan(spans, 200)
    # a change 1 s before the target is taken as well (the nearest inside the snap range wins)
    spans = plan_clips(200, [26.0, 29.0], window=30, overlap=10, snap=4)
    assert spans[0].end == pytest.approx(29.0)


def test_change_beyond_snap_range_is_ignored():
    spans = plan_clips(200, [35.0], window=30, overlap=10, snap=4)
    assert spans[0].end == pytest.approx(30.0)


def test_next_clip_start_snaps_to_a_change():
    # first end snaps to 29; the next start would be 19 and snaps to the change at 18
    spans = plan_clips(200, [18.0, 29.0], window=30, overlap=10, snap=4)
    assert spans[0].end == pytest.approx(29.0)
    assert spans[1].start == pytest.approx(18.0)
    assert_valid_plan(spans, 200)


@pytest.mark.parametrize("max_len", [80.0, 120.0])
def test_window_is_capped_at_max_len(max_len):
    """The 80 s cap with audio and the 120 s cap without hold even for a 200 s window."""
    duration = 1000.0
    spans = plan_clips(duration, [], window=200, overlap=10, max_len=max_len)
    assert_valid_plan(spans, duration, max_len=max_len)
    assert max(s.end - s.start for s in spans) == pytest.approx(max_len)
    # slide changes cannot stretch a clip past the cap either
    changes = [max_len + 2.0, 2 * max_len + 1.0]
    spans = plan_clips(duration, changes, window=200, overlap=10, snap=4, max_len=max_len)
    assert_valid_plan(spans, duration, max_len=max_len)


def test_tail_is_folded_into_the_last_clip_only_within_max_len():
    spans = plan_clips(85.0, [], window=80, overlap=10, max_len=80)
    assert_valid_plan(spans, 85.0, max_len=80)
    assert len(spans) == 2                           # 0-80 then a clip that reaches 85


def test_start_offset_skips_a_black_lead_in():
    spans = plan_clips(140.0, [22.6, 37.3, 54.3], window=30, overlap=10, start=2.0)
    assert spans[0].start == pytest.approx(2.0)
    assert_valid_plan(spans, 140.0, start=2.0)
    # a start at or past the end still gives one clip of positive length
    spans = plan_clips(10.0, [], start=50.0)
    assert len(spans) == 1 and spans[0].end > spans[0].start and spans[0].end == pytest.approx(10.0)


def test_random_plans_are_always_valid():
    rng = random.Random(1234)
    for _ in range(3000):
        duration = rng.choice([rng.uniform(0.2, 40), rng.uniform(40, 400), rng.uniform(400, 7200)])
        window = rng.uniform(5, 200)
        overlap = rng.uniform(0, 60)
        snap = rng.uniform(0, 8)
        max_len = rng.choice([80.0, 120.0])
        start = rng.choice([0.0, 0.0, rng.uniform(0, 10)])
        n = rng.randint(0, int(duration / 3) + 1)
        changes = sorted(rng.uniform(0, duration) for _ in range(min(n, 3000)))
        spans = plan_clips(duration, changes, window=window, overlap=overlap, snap=snap, max_len=max_len,
                           start=start)
        eff_start = min(start, max(0.0, duration - 1.0))
        args = dict(duration=duration, window=window, overlap=overlap, snap=snap, max_len=max_len, start=start)
        try:
            assert_valid_plan(spans, duration, start=eff_start, max_len=max_len)
        except AssertionError as e:
            raise AssertionError(f"{args}: {e}") from None


# -- SlideChangeDetector -------------------------------------------------------------------------

W, H, FPS = 160, 90, 2.0


def make_slide(seed: int) -> np.ndarray:
    """A dark 'slide' with bright text-like bars at random places."""
    r = np.random.default_rng(seed)
    img = np.full((H, W), 30, np.uint8)
    for _ in range(14):
        y, x = int(r.integers(5, 82)), int(r.integers(4, 120))
        img[y:y + 4, x:x + int(r.integers(10, 40))] = 230
    return img


BLACK = np.zeros((H, W), np.uint8)


def noisy(img: np.ndarray, rng) -> np.ndarray:
    """Mild compression-like noise (±6 grey levels) that must not count as a change."""
    return np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


def run_detector(frames: list[np.ndarray], noise: bool = True):
    rng = np.random.default_rng(7)
    det = SlideChangeDetector()
    for i, f in enumerate(frames):
        det.process_frame(i / FPS, noisy(f, rng) if noise else f)
    return det, det.slides(len(frames) / FPS)


def hold(img, seconds):
    return [img] * int(seconds * FPS)


def fade(a, b, seconds):
    n = int(seconds * FPS)
    return [((1 - k / (n + 1)) * a.astype(np.float32) + k / (n + 1) * b.astype(np.float32)).astype(np.uint8)
            for k in range(1, n + 1)]


def test_frame_distance_ignores_noise_and_sees_a_new_slide():
    """frame_distance is 0 for the same slide under compression-like noise and, for another slide, above the
    detector's threshold; is_black tells a black (noisy) frame from a slide."""
    rng = np.random.default_rng(3)
    a, b = make_slide(1), make_slide(2)
    threshold = SlideChangeDetector().threshold
    assert frame_distance(a, a) == 0.0
    assert frame_distance(a, noisy(a, rng)) == 0.0                     # ±6 grey levels are not a change
    assert frame_distance(a, b) == pytest.approx(frame_distance(b, a))
    assert frame_distance(a, b) > threshold
    assert frame_distance(BLACK, np.full_like(BLACK, 255)) == 1.0
    one_bar = a.copy()
    one_bar[40:44, 130:150] = 255 - one_bar[40:44, 130:150]            # an 80-pixel patch inverted
    assert frame_distance(a, one_bar) == pytest.approx(80 / a.size)
    assert is_black(BLACK) and is_black(noisy(BLACK, rng)) and not is_black(a)


def test_black_lead_in_then_hard_cuts():
    a, b, c = make_slide(1), make_slide(2), make_slide(3)
    det, slides = run_detector(hold(BLACK, 2) + hold(a, 10) + hold(b, 8) + hold(c, 12))
    assert det.content_start == pytest.approx(2.0)
    assert det.changes == pytest.approx([12.0, 20.0])
    assert [(s.start, s.end) for s in slides] == [(2.0, 12.0), (12.0, 20.0), (20.0, 32.0)]
    for s in slides:
        assert s.start <= s.keyframe_t < s.end
        assert s.same_as is None


def test_all_black_video_has_no_slides():
    det, slides = run_detector(hold(BLACK, 10))
    assert slides == [] and det.changes == [] and det.content_start == 0.0


def test_noise_alone_is_not_a_change():
    a = make_slide(1)
    det, slides = run_detector(hold(a, 30))
    assert det.changes == [] and len(slides) == 1


@pytest.mark.parametrize("fade_s", [1.0, 3.0, 5.0])
def test_slow_fade_is_one_change(fade_s):
    """A cross-fade B -> C is one slide change, whatever its length (not zero, not one per step)."""
    a, b, c = make_slide(1), make_slide(2), make_slide(3)
    det, slides = run_detector(hold(a, 10) + hold(b, 10) + fade(b, c, fade_s) + hold(c, 10))
    changes = det.changes
    assert changes[0] == pytest.approx(10.0)
    during = [t for t in changes[1:] if 20.0 - 1e-6 <= t <= 20.0 + fade_s + 0.5]
    assert len(changes) == 2 and len(during) == 1, f"fade of {fade_s}s gave changes {changes}"
    assert len(slides) == 3


def test_fade_in_from_black_is_not_a_change():
    a, b = make_slide(1), make_slide(2)
    det, slides = run_detector(hold(BLACK, 2) + fade(BLACK, a, 1.5) + hold(a, 8) + hold(b, 8))
    assert det.content_start <= 2.5
    assert len(det.changes) == 1 and det.changes[0] == pytest.approx(11.5, abs=0.6)


def test_returning_slide_is_linked_to_its_first_showing():
    a, b, c = make_slide(1), make_slide(2), make_slide(3)
    det, slides = run_detector(hold(BLACK, 2) + hold(a, 8) + hold(b, 8) + hold(a, 6) + hold(c, 6) + hold(b, 6))
    assert len(slides) == 5
    assert [s.same_as for s in slides] == [None, None, 0, None, 1]


def test_quick_flicker_folds_into_one_change():
    """Changes closer than min_slide_s (e.g. a build-up animation) keep the first change time."""
    a, b, c = make_slide(1), make_slide(2), make_slide(3)
    det, _ = run_detector(hold(a, 10) + hold(b, 0.5) + hold(c, 10))
    assert det.changes == pytest.approx([10.0])


def test_each_slide_comes_out_when_the_next_change_ends_it():
    """Streaming: `process_frame` hands back the slide a change ends (so its keyframe can be read while the
    video still decodes), pictured by its last sampled frame at least KEYFRAME_LEAD_S before the change;
    `slides` adds the last one and agrees with what came out."""
    from lecturefind.segment.slides import KEYFRAME_LEAD_S

    a, b, c = make_slide(1), make_slide(2), make_slide(3)
    frames = hold(a, 10) + hold(b, 8) + hold(c, 6)
    det = SlideChangeDetector()
    out = []
    for i, f in enumerate(frames):
        ended = det.process_frame(i / FPS, f)
        if ended is not None:
            out.append((i / FPS, ended))
    assert [(t, s.index, s.start, s.end) for t, s in out] == [(10.0, 0, 0.0, 10.0), (18.0, 1, 10.0, 18.0)]
    for _, s in out:
        assert s.end - KEYFRAME_LEAD_S - 1 / FPS <= s.keyframe_t <= s.end - KEYFRAME_LEAD_S
    slides = det.slides(len(frames) / FPS)
    assert slides[:2] == [s for _, s in out] and len(slides) == 3
    assert slides[2].end == 24.0 and slides[2].keyframe_t == 23.0
