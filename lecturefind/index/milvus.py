"""Milvus store (pymilvus): Milvus Lite in a local file, or a Milvus server; same code, only the URI differs.

One collection per index and embedding column, `lf_<index id>_<e5|en|gemini>`: the segment id, its vector (inner
product) and, in the e5 collection, the catalog's BM25 text (`words.fts_text` stems) with Milvus's BM25
function filling a sparse field. The Gemini collection (only with `--backend gemini` vectors) holds them at the
size the index chose (`--dims`, a Matryoshka prefix) and follows the catalog's Gemini generation.
Collection properties stamp the catalog generation it holds, the model that
made the vectors and the schema; a store that does not match the catalog is refused with the command that
rebuilds it. After a crash between the catalog commit and the store write, the next ingest repairs the store
by comparing ids with the catalog (upserts: a repeated write never duplicates a segment).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Optional

import numpy as np

from .catalog import Catalog
from .store import StoreError, StoreSpec

SCHEMA = "1"
GEMINI = "gemini"                 # the column name of the Gemini vectors (catalog table gemini_segments)
BATCH = 2000                      # rows per insert or upsert
MAX_TEXT_BYTES = 60000            # Milvus VARCHAR holds at most 65 535 bytes
_STAMP_OF = {"embedding": "text_embedding", "embedding_en": "english_embedding"}   # catalog stamps per column
_SUFFIX = {"embedding": "e5", "embedding_en": "en", GEMINI: "gemini"}

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _reason(e: Exception) -> str:
    text = getattr(e, "message", None) or str(e) or type(e).__name__
    return " ".join(str(text).split())[:200]


def client_for(spec: StoreSpec):
    """One MilvusClient per URI and process (Milvus Lite runs one local server per file)."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise StoreError("the Milvus store needs pymilvus: pip install 'lecturefind[milvus]'") from None

    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)    # its RPC tracebacks: our StoreError says it in a line
    with _clients_lock:
        c = _clients.get(spec.uri)
        if c is None:
            if not spec.is_server:
                os.makedirs(os.path.dirname(spec.uri) or ".", exist_ok=True)
            try:
                c = MilvusClient(spec.uri, token=os.environ.get("LECTUREFIND_MILVUS_TOKEN", ""),
                                 timeout=float(os.environ.get("LECTUREFIND_MILVUS_TIMEOUT", "10")))
            except Exception as e:           # noqa: BLE001 - grpc, OS and Milvus errors alike: one line
                if not spec.is_server and "open local milvus failed" in _reason(e).lower():
                    raise StoreError(f"Milvus Lite file {spec.uri} is open in another process (one process at a "
                                     "time: stop the other ingest or server, or use a Milvus server)") from None
                raise StoreError(f"Milvus at {spec.label} is unreachable ({_reason(e)})") from None
            _clients[spec.uri] = c
        return c


class MilvusStore:
    """One embedding column of an index's segments in a Milvus collection (`SegmentStore`; with `text`, also
    `TextSearch`). Column `gemini`: the Gemini vectors at the index's Matryoshka size, in step with the catalog's
    Gemini generation."""

    def __init__(self, spec: StoreSpec, catalog: Catalog, column: str = "embedding", text: bool = False,
                 index_dir: str = ""):
        self.spec = spec
        self.column = column
        self.text = text
        self.index_dir = index_dir or catalog.index_dir
        self.generation = -1
        self._lock = threading.Lock()
        self._loaded = False
        self._name: Optional[str] = None
        self._catalog_id = _index_name(catalog)

    # -- names, stamps ----------------------------------------------------------------------------
    def describe(self) -> str:
        return f"{self.spec.label} collection {self.name}"

    @property
    def name(self) -> str:
        if self._name is None:
            prefix = os.environ.get("LECTUREFIND_MILVUS_PREFIX", "lf")
            self._name = f"{prefix}_{self._catalog_id or 'unset'}_{_SUFFIX[self.column]}"
        return self._name

    def _rebuild_hint(self) -> str:
        return f"lecturefind reindex --index {self.index_dir} --store {self.spec}"

    def _call(self, what: str, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except StoreError:
            raise
        except Exception as e:               # noqa: BLE001 - one readable line naming the store
            raise StoreError(f"Milvus at {self.spec.label}: {what} failed ({_reason(e)})") from None

    @property
    def client(self):
        return client_for(self.spec)

    def _properties(self) -> Optional[dict]:
        c = self.client
        if self._catalog_id is None or not self._call("listing collections", c.has_collection, self.name):
            return None
        info = self._call("describing the collection", c.describe_collection, self.name)
        return dict(info.get("properties") or {})

    # -- what the column is in the catalog ---------------------------------------------------------
    def _generation(self, catalog: Catalog) -> int:
        return catalog.gemini_generation() if self.column == GEMINI else catalog.generation

    def _model(self, catalog: Catalog) -> str:
        if self.column == GEMINI:
            space = catalog.gemini_space()
            return space[0] if space else ""
        return catalog.stamps().get(_STAMP_OF[self.column], "")

    def _batches(self, catalog: Catalog, ids: Optional[list[int]] = None):
        if self.column == GEMINI:
            return catalog.gemini_batches(BATCH, ids=ids)
        return catalog.embedding_batches(self.column, BATCH, ids=ids)

    def _ids(self, catalog: Catalog) -> set[int]:
        return catalog.gemini_ids() if self.column == GEMINI else catalog.embedded_ids(self.column)

    def _dim(self, catalog: Catalog) -> int:
        if self.column == GEMINI:
            space = catalog.gemini_space()
            return space[1] if space else 0
        return _catalog_dim(catalog, self.column)

    def _stamp(self, generation: int, catalog: Catalog, dim: int) -> None:
        props = {"lecturefind.generation": str(generation), "lecturefind.schema": SCHEMA,
                 "lecturefind.model": self._model(catalog), "lecturefind.dim": str(dim)}
        self._call("stamping the collection", self.client.alter_collection_properties, self.name, properties=props)

    def _check(self, props: dict, catalog: Catalog) -> None:
        """Refuse a collection made by another schema or model, or for vectors of another size."""
        model = self._model(catalog)
        dim = self._dim(catalog)
        why = None
        if props.get("lecturefind.schema") != SCHEMA:
            why = f"schema {props.get('lecturefind.schema')!r}, this version writes {SCHEMA!r}"
        elif model and props.get("lecturefind.model") not in (model, ""):
            why = f"vectors of model {props.get('lecturefind.model')!r}, the catalog's are {model!r}"
        elif dim and props.get("lecturefind.dim") not in (str(dim), None):
            why = f"{props.get('lecturefind.dim')}-d vectors, the catalog's are {dim}-d"
        if why:
            raise StoreError(f"Milvus at {self.spec.label}: collection {self.name} does not match this index ({why}); "
                             f"rebuild it: {self._rebuild_hint()}")

    # -- SegmentStore -----------------------------------------------------------------------------
    def load(self, catalog: Catalog, persist: bool = False) -> "MilvusStore":
        gen = self._generation(catalog)
        if self.generation == gen:
            return self
        with self._lock:
            if self.generation == gen:
                return self
            _ = self.client                  # unreachable: a StoreError before anything is written anywhere
            if persist and self._catalog_id is None:
                self._catalog_id = _index_name(catalog)
                self._name = None
            props = self._properties()
            if props is None:
                if not persist:
                    raise StoreError(f"Milvus at {self.spec.label}: this index has no collection {self.name} there; "
                                     f"build it: {self._rebuild_hint()}")
                self._create(self._dim(catalog) or 384)
                self._stamp(-1, catalog, self._dim(catalog) or 384)     # made, not yet filled
                props = self._properties() or {}
            self._check(props, catalog)
            self._ensure_loaded()
            if persist and props.get("lecturefind.generation") != str(gen):
                self._repair(catalog)
                self._stamp(gen, catalog, self._dim(catalog) or int(props["lecturefind.dim"]))
            self.generation = gen
            return self

    def _ensure_loaded(self) -> None:
        """Milvus searches only a collection loaded into memory (once per process)."""
        if not self._loaded:
            self._call("loading the collection", self.client.load_collection, self.name)
            self._loaded = True

    def in_step(self, catalog: Catalog) -> bool:
        """Whether the collection holds the catalog's current generation (what `status` reports)."""
        props = self._properties()
        return props is not None and props.get("lecturefind.generation") == str(self._generation(catalog))

    def sync(self, catalog: Catalog, before: int, removed: list[int], added: dict[int, np.ndarray]) -> None:
        with self._lock:
            if self.generation != before:
                self.generation = -1
            else:
                self._delete(removed)
                self._upsert(catalog, list(added))
        if self.generation == -1:
            self.load(catalog, persist=True)        # not the generation it was patched from: repair instead
            return
        with self._lock:
            self._stamp(self._generation(catalog), catalog, self._dim(catalog) or 384)
            self.generation = self._generation(catalog)

    def rebuild(self, catalog: Catalog) -> int:
        with self._lock:
            if self._catalog_id is None:
                self._catalog_id = _index_name(catalog)
                self._name = None
            c = self.client
            if self._call("listing collections", c.has_collection, self.name):
                self._call("dropping the collection", c.drop_collection, self.name)
            dim = self._dim(catalog) or 384
            self._create(dim)
            n = 0
            for ids, vecs, texts in self._batches(catalog):
                self._write(ids, vecs, texts, upsert=False)
                n += len(ids)
            self._flush()
            self._stamp(self._generation(catalog), catalog, dim)
            self.generation = self._generation(catalog)
            return n

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k <= 0 or self._catalog_id is None:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if not self._loaded:
            with self._lock:
                self._ensure_loaded()
        res = self._call("vector search", self.client.search, self.name, data=[np.asarray(query, np.float32).tolist()],
                         anns_field="vec", limit=min(k, 16384), output_fields=[],
                         search_params={"metric_type": "IP", "params": {"ef": max(k, 128), "nprobe": 32}})
        hits = res[0] if res else []
        return (np.array([h["distance"] for h in hits], np.float32),
                np.array([h["id"] for h in hits], np.int64))

    # -- TextSearch -------------------------------------------------------------------------------
    def search_text(self, terms: list[str], k: int) -> list[int]:
        """Segment ids best first by Milvus's BM25 over the stems (any of `terms`)."""
        if not self.text or not terms:
            return []
        if not self._loaded:
            with self._lock:
                self._ensure_loaded()
        res = self._call("BM25 search", self.client.search, self.name, data=[" ".join(terms)],
                         anns_field="sparse", limit=min(k, 16384), output_fields=[],
                         search_params={"metric_type": "BM25"})
        return [int(h["id"]) for h in (res[0] if res else [])]

    # -- writing ----------------------------------------------------------------------------------
    def _create(self, dim: int) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        schema = c.create_schema(auto_id=False, description=f"LectureFind segments ({self.column})")
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
        params = c.prepare_index_params()
        kind = os.environ.get("LECTUREFIND_MILVUS_INDEX", "HNSW").upper()
        params.add_index("vec", index_type=kind, metric_type="IP",
                         params={"M": 16, "efConstruction": 200} if kind == "HNSW" else {})
        if self.text:
            # the catalog's stems go in as words; Milvus's standard analyzer splits them as it splits the query
            schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                         input_field_names=["text"], output_field_names=["sparse"]))
            params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self._call("creating the collection", c.create_collection, self.name, schema=schema, index_params=params)
        self._loaded = False

    def _write(self, ids: np.ndarray, vecs: np.ndarray, texts: list[str], upsert: bool) -> None:
        rows = []
        for i, v, t in zip(ids, vecs, texts):
            row = {"id": int(i), "vec": np.asarray(v, np.float32).tolist()}
            if self.text:
                row["text"] = t.encode()[:MAX_TEXT_BYTES].decode(errors="ignore")
            rows.append(row)
        if rows:
            fn = self.client.upsert if upsert else self.client.insert
            self._call("writing vectors", fn, self.name, rows)

    def _upsert(self, catalog: Catalog, ids: list[int]) -> None:
        for bids, vecs, texts in self._batches(catalog, ids):
            self._write(bids, vecs, texts, upsert=True)

    def _delete(self, ids) -> None:
        ids = [int(i) for i in ids]
        for i in range(0, len(ids), BATCH):
            self._call("deleting vectors", self.client.delete, self.name, ids=ids[i:i + BATCH])

    def _flush(self) -> None:
        self._call("flushing", self.client.flush, self.name)

    def _stored_ids(self) -> set[int]:
        it = self._call("reading ids", self.client.query_iterator, self.name, batch_size=BATCH * 4,
                        filter="id >= 0", output_fields=["id"])
        out: set[int] = set()
        while True:
            batch = self._call("reading ids", it.next)
            if not batch:
                it.close()
                return out
            out.update(int(r["id"]) for r in batch)

    def _repair(self, catalog: Catalog) -> None:
        """Make the collection hold exactly the catalog's vectors: drop what the catalog lost, add what it gained."""
        stored, wanted = self._stored_ids(), self._ids(catalog)
        self._delete(sorted(stored - wanted))
        self._upsert(catalog, sorted(wanted - stored))
        self._flush()


def _catalog_dim(catalog: Catalog, column: str) -> int:
    for _ids, vecs, _ in catalog.embedding_batches(column, 1):
        return int(vecs.shape[1])
    return 0


def _index_name(catalog: Catalog) -> Optional[str]:
    """This index's name in external stores (two indexes may share one Milvus): its catalog's `identity`, the name
    its caches are stamped with; an index named before identities keeps the name it had (setting `index_id`).
    None: a catalog read-only from before identities and never given a collection."""
    return catalog.setting("index_id") or catalog.identity or None
