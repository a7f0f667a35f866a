"""Words: tokens, stems and the one rule for "this word matches that query word", in any language written with
spaces between words, and in Chinese and Japanese by character pairs.

Scoring (lexical coverage of an anchor) and highlighting (the <mark>ed words of a snippet) both use
`word_matches`, so the highlighted words are exactly the words that counted. BM25 (SQLite FTS5) indexes
`fts_text`: each word's Snowball stem in English and in the text's language, diacritics folded, so
"ecuaciones" finds "ecuación" and "Größe" finds "grosse"; queries are stemmed the same way (`fts_query`).
"""
from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from typing import Iterable, Mapping, Optional, Union

_EN_STOP = """
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just let me more most my no nor not now of off on once only or other
our out over own same she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your
lecture lectures slide slides explain explained show shown showed talk talked say said mention mentioned
lesson class course video part discuss discussed tell told describe described does did we us
please really actually briefly quickly roughly basically maybe perhaps clearly mainly mostly usually remind
"""
# the commonest function words of the languages Whisper and the OCR serve best; words that are also English
# content words ("die", "war", "man", "art") are left out
_STOP = {
    "es": """el la los las un una unos unas de del al y o u e que en se su sus por para con sin sobre es son
          fue ser está están este esta estos estas ese esa eso como pero más muy ya le les lo nos mi tu qué
          cómo dónde cuándo cuál cuáles donde cuando porque también entre hasta desde hay""",
    "de": """der das den dem des ein eine einer eines einem einen und oder nicht ist sind wird werden wurde
          mit von zu zum zur auf aus bei für im ins über unter wie wir ihr sie er es auch noch nur dass
          was wo wann warum welche welcher welches wer haben hat sich vom""",
    "fr": """le la les un une des du de et ou que qui est sont être avec pour par sur dans en au aux ce
          cette ces se sa son ses nous vous ils elle il pas plus comme mais où quand comment pourquoi quel
          quelle quels quelles avons été""",
    "pt": """o a os as um uma uns umas de do da dos das e ou que em no na nos nas por para com sem sobre é
          são foi ser está estão este esta isso como mas mais muito se seu sua onde quando porque qual
          quais também entre até desde há""",
    "it": """il lo la i gli le un uno una di del della dei delle e o che in nel nella per con su è sono
          come ma più dove quando perché quale anche tra fra""",
}
STOPWORDS = frozenset(_EN_STOP.split()) | frozenset(w for ws in _STOP.values() for w in ws.split())

_SNOWBALL = {"en": "english", "es": "spanish", "de": "german", "fr": "french", "pt": "portuguese",
             "it": "italian", "nl": "dutch", "sv": "swedish", "da": "danish", "no": "norwegian", "nb": "norwegian",
             "fi": "finnish", "ca": "catalan", "ro": "romanian", "hu": "hungarian", "tr": "turkish",
             "pl": "polish", "cs": "czech", "ru": "russian", "el": "greek", "id": "indonesian", "lt": "lithuanian",
             "eu": "basque", "ga": "irish", "hy": "armenian", "ne": "nepali", "hi": "hindi", "ta": "tamil",
             "sr": "serbian", "ar": "arabic", "fa": "persian", "et": "estonian", "yi": "yiddish"}
_FOLD = str.maketrans({"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                       "ı": "i"})
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# Chinese and Japanese write words without spaces: a run of Han (or katakana) characters is matched as its
# overlapping character pairs (a single character alone), as CJK search engines do; Japanese hiragana (particles,
# inflections) separates runs; pairs of Chinese function characters ("什么", "我们") are not content. Korean,
# spaced, is matched by its words.
_HAN = "\u30a0-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HIRAGANA = re.compile("[\u3040-\u309f]+")
_CJK = re.compile(f"([{_HAN}]+)")
_ASIAN = re.compile(f"[\u3040-\u309f{_HAN}]")
_ZH_FUNCTION = frozenset("的了是在和与吗呢吧啊么什怎哪为我们你他她它这那个如何把被就都也要可以从到对于及或而")


def fold(word: str) -> str:
    """Lower case without diacritics: "Ecuación" → "ecuacion", "Größe" → "grosse" (what FTS5's unicode61 does,
    plus the letters it leaves alone)."""
    w = word.lower().translate(_FOLD)
    if w.isascii():
        return w
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", w) if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", bare)        # a Hangul syllable stays one letter, not its jamo


def _cjk_pairs(run: str) -> list[tuple[int, str]]:
    """A Han run's content pairs (a lone character: itself), each with its offset in the run."""
    pieces = [(i, run[i:i + 2]) for i in range(len(run) - 1)] if len(run) > 1 else [(0, run)]
    return [(i, p) for i, p in pieces if not set(p) <= _ZH_FUNCTION]


def _split(tok: str) -> list[str]:
    """A token as words are matched: itself, or with its Han runs in character pairs and its hiragana dropped."""
    if not _ASIAN.search(tok):
        return [tok]
    out: list[str] = []
    for k, part in enumerate(_CJK.split(tok)):          # the runs kept: spelled, run, spelled, ...
        if k % 2:
            out += [p for _, p in _cjk_pairs(part)]
        else:
            out += [w for w in _HIRAGANA.split(part) if w]
    return out


def _raw_tokens(low: str) -> list[str]:
    """The tokens of a lower-case text (`_split` applied: Chinese and Japanese in character pairs)."""
    found = _TOKEN.findall(low)
    if not _ASIAN.search(low):
        return found
    return [p for t in found for p in _split(t)]


def _words(text: str) -> list[str]:
    return [t for t in _raw_tokens(text.lower()) if t not in STOPWORDS]


def tokens(text: str) -> list[str]:
    """The content words of a text, lower case and folded."""
    return [fold(t) for t in _words(text)]


def stem(tok: str) -> str:
    """A crude, language-light stem: enough to match plural/verb forms."""
    for suf in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s"):
        if len(tok) > len(suf) + 3 and tok.endswith(suf):
            return tok[: -len(suf)]
    if len(tok) > 4 and tok.endswith("e"):      # derive ~ deriving ~ derived, value ~ values
        return tok[:-1]
    return tok


@functools.lru_cache(maxsize=1 << 16)
def _word_stem(word: str) -> str:
    """`stem(fold(word))`, remembered: a course's vocabulary is small and its words recur in every text."""
    return stem(fold(word))


@functools.lru_cache(maxsize=8192)
def stems(text: str) -> frozenset[str]:
    return frozenset(_word_stem(t) for t in _words(text))


def word_matches(query_stem: str, stem_: str) -> bool:
    """A text word (stemmed) matches a query word (stemmed).

    Equal stems match; a longer word with the query stem as prefix (eigenvalue → eigenvalues) matches when
    the query stem has ≥ 5 letters; a shorter word that is a prefix of the query word matches only with
    ≥ 7 letters of its own (start ⊄ starter, but eigenvect ⊂ eigenvector).
    """
    if query_stem == stem_:
        return True
    return len(query_stem) >= 5 and (stem_.startswith(query_stem) or (len(stem_) >= 7 and query_stem.startswith(stem_)))


def coverage(query_stems: Union[Iterable[str], Mapping[str, float]], text: str) -> float:
    """Share of the query's content stems that some word of `text` matches; given a mapping stem → weight (the
    word's rarity in the index), the share of the query's weight."""
    weights = query_stems if isinstance(query_stems, Mapping) else dict.fromkeys(query_stems, 1.0)
    total = sum(weights.values())
    if not total:
        return 0.0
    have = stems(text)
    hit = sum(w for q, w in weights.items() if q in have or _some_word_matches(q, text))
    return hit / total


@functools.lru_cache(maxsize=8192)
def _sorted_stems(text: str) -> tuple[str, ...]:
    return tuple(sorted(stems(text)))


def _some_word_matches(q: str, text: str) -> bool:
    """`any(word_matches(q, h) for h in stems(text))` by look-ups instead of a scan (refinement asks it of
    every candidate text): a longer word with q as prefix is found by bisection, a shorter one by q's prefixes."""
    if len(q) < 5:
        return False                                  # below 5 letters only equal stems match
    have = _sorted_stems(text)
    i = bisect.bisect_left(have, q)
    if i < len(have) and have[i].startswith(q):
        return True
    whole = stems(text)
    return any(q[:n] in whole for n in range(7, len(q)))


def title_line(text: str) -> str:
    """A slide's or page's title: its first line with at least three letters (OCR lines run top to bottom; a
    PDF's text layer starts with the heading)."""
    for line in (text or "").splitlines():
        if sum(ch.isalpha() for ch in line) >= 3:
            return line.strip()
    return ""


def matches_any(word: str, query_stems: Iterable[str]) -> bool:
    """A single (unstemmed) word of a text matches one of the query stems."""
    w = _word_stem(word)
    return any(word_matches(q, w) for q in query_stems)


def matched_spans(word: str, query_stems: Iterable[str]) -> list[tuple[int, int]]:
    """The [start, end) spans of a text's word (unstemmed) that match the query stems: the whole word, or in a
    Chinese/Japanese run the characters of its matching character pairs (what highlighting marks)."""
    if not _ASIAN.search(word):
        return [(0, len(word))] if matches_any(word, query_stems) else []
    wanted = set(query_stems)
    on = [False] * len(word)
    pos = 0
    for k, part in enumerate(_CJK.split(word)):          # spelled, run, spelled, ...
        if k % 2:
            for i, pair in _cjk_pairs(part):
                if fold(pair) in wanted:
                    on[pos + i:pos + i + len(pair)] = [True] * len(pair)
        else:
            for m in re.finditer(r"[^\u3040-\u309f]+", part):      # its words between the hiragana, matched whole
                if matches_any(m.group(0), wanted):
                    on[pos + m.start():pos + m.end()] = [True] * (m.end() - m.start())
        pos += len(part)
    spans, i = [], 0
    while i < len(word):
        if on[i]:
            j = i
            while j < len(word) and on[j]:
                j += 1
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def guess_language(text: str) -> Optional[str]:
    """The language whose function words a text uses most (of those with a stop list), or None when it has
    too few of them to tell (short or technical text); "zh", "ja" or "ko" when Chinese, Japanese or Korean
    characters are a good share of its letters."""
    letters = sum(ch.isalpha() for ch in text)
    cjk = len(_ASIAN.findall(text))
    if cjk >= 2 and cjk >= 0.3 * letters:
        return "ja" if _HIRAGANA.search(text) or re.search("[\u30a0-\u30ff]", text) else "zh"
    hangul = len(re.findall("[\uac00-\ud7af]", text))
    if hangul >= 2 and hangul >= 0.3 * letters:
        return "ko"
    low = _TOKEN.findall(text.lower())
    if len(low) < 4:
        return None
    counts = {lang: sum(1 for t in low if t in _STOP_SETS[lang]) for lang in _STOP_SETS}
    counts["en"] = sum(1 for t in low if t in _EN_SET)
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= max(2, 0.1 * len(low)) else None


def reads_as_english(text: str, language: Optional[str] = None) -> bool:
    """Whether a text is English: its lecture's spoken language when known, else what its words show (a
    short or technical text with no telling function words counts as English)."""
    if language:
        return language == "en"
    return guess_language(text) in ("en", None)


_EN_SET = frozenset(_EN_STOP.split())
_STOP_SETS = {lang: frozenset(ws.split()) for lang, ws in _STOP.items()}


@functools.lru_cache(maxsize=64)
def _stemmer(language: str):
    import Stemmer

    return Stemmer.Stemmer(_SNOWBALL[language])


def stemmable(language: Optional[str]) -> bool:
    return language in _SNOWBALL


def index_stems(word: str, languages: Iterable[str]) -> set[str]:
    """The word's stems, one per language (Snowball, then folded, so Spanish/Portuguese z~c plurals and
    Portuguese -ção/-ções meet): what BM25 indexes and looks up."""
    w = word.lower()
    out = set()
    for lang in languages:
        st = fold(_stemmer(lang).stemWord(w))
        if lang in ("es", "pt"):
            st = re.sub(r"z$", "c", st)                     # matriz ~ matrices, luz ~ luces
            if lang == "pt":
                st = re.sub(r"(?<=c)[ao]$", "", st)         # função/funções → func
        out.add(st)
    return out


def _languages(*langs: Optional[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(lang for lang in ("en", *langs) if lang and stemmable(lang)))


def fts_text(text: str, language: Optional[str] = None) -> str:
    """The text as BM25 indexes it: every word's stems in English and in the text's language (the lecture's, or
    the one its words show)."""
    langs = _languages(language, guess_language(text))
    return " ".join(" ".join(sorted(index_stems(t, langs))) for t in _raw_tokens(text.lower()))


def query_words(text: str, languages: Iterable[Optional[str]] = ()) -> list[tuple[str, list[str]]]:
    """Per content word of a query: its `stem` (what `coverage` matches) and its BM25 stems in English, in the
    languages given (the index's) and in the query's own."""
    langs = _languages(*languages, guess_language(text))
    return [(stem(fold(t)), sorted(index_stems(t, langs))) for t in dict.fromkeys(_words(text))]


def fts_terms(text: str, languages: Iterable[Optional[str]] = ()) -> list[list[str]]:
    """Per content word of a query, its BM25 stems (see `query_words`)."""
    return [g for _, g in query_words(text, languages)]


def flat_terms(terms: Iterable[Iterable[str]]) -> list[str]:
    """The stems BM25 is asked for, once each, at most 48 (FTS5's or Milvus's)."""
    return list(dict.fromkeys(s for group in terms for s in group if s))[:48]


def fts_query(terms: Iterable[Iterable[str]]) -> str:
    """An FTS5 OR-query of the given stems, each quoted."""
    return " OR ".join(f'"{t}"' for t in flat_terms(terms))
