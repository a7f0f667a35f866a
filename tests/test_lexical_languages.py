"""BM25 in the lecture's language: inflections, diacritics and function words of Spanish, German, French and
Portuguese lectures, through the real catalog (SQLite FTS5) and the lexical retriever."""
from __future__ import annotations

import os
import re
import sqlite3

import pytest
from helpers import spoken_lecture

from lecturefind.index.catalog import Catalog
from lecturefind.rank.query import Query
from lecturefind.rank.retrievers.lexical import LexicalRetriever
from lecturefind.words import fts_terms, fts_text, guess_language, tokens

# (language, word as the lecture says it, word as a student types it)
PAIRS = [
    ("es", "matrices", "matriz"), ("es", "ecuaciones", "ecuación"), ("es", "características", "caracteristica"),
    ("es", "derivamos", "derivada"),
    ("de", "Eigenwerten", "Eigenwert"), ("de", "Größe", "Grösse"), ("de", "große", "groß"),
    ("fr", "équations", "equation"), ("fr", "dérivée", "dériver"), ("fr", "matrices", "matrice"),
    ("pt", "funções", "função"), ("pt", "matrizes", "matriz"), ("pt", "equações", "equação"),
    ("en", "eigenvalues", "eigenvalue"), ("en", "derived", "derivation"),
]


@pytest.mark.parametrize("lang,said,typed", PAIRS)
def test_inflected_word_meets_its_query_form(lang, said, typed):
    indexed = set(fts_text(said, lang).split())
    asked = set(fts_terms(typed, [lang])[0])
    assert indexed & asked, (said, indexed, typed, asked)


def test_unrelated_words_stay_apart():
    for lang, a, b in [("es", "matriz", "material"), ("de", "Eigenwert", "Eigentum"), ("pt", "função", "fundo")]:
        assert not set(fts_text(a, lang).split()) & set(fts_terms(b, [lang])[0]), (a, b)


def test_function_words_of_other_languages_are_not_content():
    assert tokens("¿Dónde se deriva la ecuación de los autovalores?") == ["deriva", "ecuacion", "autovalores"]
    assert tokens("Wie groß ist die Matrix und was sind Eigenwerte?") == ["gross", "die", "matrix", "eigenwerte"]
    assert guess_language("Wie groß ist die Matrix und was sind Eigenwerte der Abbildung?") == "de"
    assert guess_language("¿Dónde se deriva la ecuación de los autovalores de una matriz?") == "es"
    assert guess_language("where did we derive the eigenvalue condition for the matrix") == "en"
    assert guess_language("eigenvalue") is None


def test_the_adverbs_of_a_spoken_request_are_not_content():
    # a word in no lecture weighs most in coverage: "please … quickly" made every candidate look unrelated
    assert tokens("could you please quickly remind me how the arbiter basically decides") == ["arbiter", "decides"]
    assert tokens("which bus is usually granted first") == ["bus", "granted", "first"]


def _top(retr: LexicalRetriever, text: str) -> int:
    hits = retr.rank(Query(text=text))
    assert hits, text
    return hits[0].segment_id


@pytest.fixture()
def catalog(tmp_path):
    cat = Catalog(str(tmp_path / "idx"))
    yield cat
    cat.close()


def test_native_language_questions_find_inflected_speech(catalog):
    es = spoken_lecture(catalog, "algebra-es", "es", [
        "Hoy vemos el material del curso y las tareas.",
        "Las matrices simétricas tienen autovalores reales.",
        "La ecuación característica se obtiene del determinante."])
    de = spoken_lecture(catalog, "algebra-de", "de", [
        "Die Größe der Matrix bestimmt den Aufwand.",
        "Eigenwerten entsprechen Nullstellen des Polynoms."])
    pt = spoken_lecture(catalog, "calculo-pt", "pt", ["As funções contínuas num intervalo fechado.",
                                                      "O fundo do gráfico."])
    en = spoken_lecture(catalog, "algebra-en", "en", ["We derived the eigenvalues of the rotation matrix."])
    retr = LexicalRetriever(catalog)
    assert _top(retr, "¿qué es una matriz simétrica?") == es[1]
    assert _top(retr, "ecuaciones características") == es[2]
    assert _top(retr, "grosse Matrix") == de[0]
    assert _top(retr, "Eigenwert") == de[1]
    assert _top(retr, "função contínua") == pt[0]
    assert _top(retr, "derive eigenvalue") == en[0]


def test_an_index_with_porter_stems_is_rebuilt_on_open(tmp_path):
    cat = Catalog(str(tmp_path / "idx"))
    ids = spoken_lecture(cat, "algebra-es", "es", ["Las matrices simétricas.", "Otra cosa."])
    cat.close()
    conn = sqlite3.connect(tmp_path / "idx" / "catalog.sqlite")   # as an older version left it
    conn.executescript("DROP TABLE segments_fts; CREATE VIRTUAL TABLE segments_fts USING fts5(text, "
                       "tokenize='porter unicode61 remove_diacritics 2');")
    conn.execute("INSERT INTO segments_fts(rowid, text) VALUES(?, 'Las matrices simétricas.')", (ids[0],))
    conn.commit()
    conn.close()
    cat = Catalog(str(tmp_path / "idx"), readonly=True)
    try:
        sql = cat.one("SELECT sql FROM sqlite_master WHERE name = 'segments_fts'")[0]
        assert "porter" not in sql
        assert _top(LexicalRetriever(cat), "matriz") == ids[0]
        assert cat.one("SELECT COUNT(*) FROM segments_fts")[0] == 2
    finally:
        cat.close()


def test_coverage_look_ups_agree_with_the_word_matching_rule():
    """`coverage` finds prefix matches by look-ups; it must say exactly what `word_matches` over every word says."""
    import random

    from lecturefind.words import coverage, stems, word_matches

    rng = random.Random(7)
    with open(os.path.join(os.path.dirname(__file__), "..", "examples", "sample-course", "ground_truth.json")) as f:
        words = sorted(set(re.findall(r"[a-z]{3,}", f.read().lower())))
    words += [w[:n] for w in words if len(w) > 8 for n in (5, 7, len(w) - 1)]     # prefixes both ways
    for _ in range(3000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
        query = stems(" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))))
        have = stems(text)
        want = sum(1 for q in query if any(word_matches(q, h) for h in have)) / len(query) if query else 0.0
        assert coverage(query, text) == want, (query, text)


def test_chinese_and_japanese_are_matched_by_character_pairs(catalog):
    """Chinese and Japanese have no spaces: a question shares a lecture's words only as parts of longer runs.
    Matched by character pairs (hiragana separating Japanese runs, Chinese function pairs left out), the question
    finds its segment through the real catalog, coverage counts it, and the snippet marks the matched characters."""
    from lecturefind.web.helpers import highlight
    from lecturefind.words import coverage, reads_as_english, stems

    zh = spoken_lecture(catalog, "xianxing-zh", "zh", ["今天我们先复习上周的作业。",
                                                        "我们推导了特征值条件，并求出矩阵的特征向量。",
                                                        "最后讨论行列式的几何意义。"])
    ja = spoken_lecture(catalog, "compiler-ja", "ja", ["コンパイラの最適化について説明します。",
                                                       "固有値の条件を導出しました。"])
    retr = LexicalRetriever(catalog)
    assert _top(retr, "特征值是什么") == zh[1]
    assert _top(retr, "行列式") == zh[2]
    assert _top(retr, "最適化とは") == ja[0]
    assert _top(retr, "固有値") == ja[1]
    assert tokens("特征值是什么") == ["特征", "征值", "值是"]          # "什么" (what) is no content
    assert tokens("固有値の条件を導出しました") == ["固有", "有値", "条件", "導出"]
    assert coverage(stems("特征值"), "我们推导了特征值条件") == 1.0
    assert coverage(stems("特征值"), "最后讨论行列式的几何意义") == 0.0
    assert not reads_as_english("特征值是什么") and guess_language("特征值是什么") == "zh"
    assert guess_language("固有値の条件") == "ja" and guess_language("한국어 강의입니다") == "ko"
    assert str(highlight("我们推导了特征值条件", "特征值")) == "我们推导了<mark>特征值</mark>条件"
    assert str(highlight("固有値の<条件>", "条件")) == "固有値の&lt;<mark>条件</mark>&gt;"
