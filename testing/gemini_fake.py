"""A local fake of the Gemini REST API, for tests and benchmarks (never used by the product).

Speaks what the google-genai SDK sends in Gemini Developer API mode:
  POST /{v1,v1beta}/models/{model}:batchEmbedContents   {"requests":[{"model","content":{"parts":[...]},
                                                          "taskType"?, "outputDimensionality"?}]}
  POST /upload/{v}/files  (resumable start)  ->  x-goog-upload-url;  POST <that url> (upload, finalize)
  GET  /{v}/files/{id}                        PROCESSING once, then ACTIVE
  POST /{v}/models/{model}:asyncBatchEmbedContent   ->  batches/{id};  GET /{v}/batches/{id}
Vectors are deterministic: seeded by a hash of each content (text with any task prefix removed, or the
decoded bytes), so identical inputs get identical vectors; `alias(text, like=...)` makes a text map to the
same vector as some other input. Vectors are deliberately NOT unit length (the client must normalise).
Faults: `fail(code, times, retry_delay=...)` answers the next calls with an error body.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import numpy as np

FULL_DIMS = 3072
_PREFIX = re.compile(r"^(task: [^|]*\| query: |title: [^|]*\| text: )")


def b64decode_any(s: str) -> bytes:
    s = s.strip()
    s += "=" * (-len(s) % 4)
    return base64.b64decode(s.replace("-", "+").replace("_", "/"))


def vector_for(seed_key: str, dims: int = FULL_DIMS) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(seed_key.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(FULL_DIMS).astype(np.float32) * 3.7
    return [float(x) for x in v[:dims]]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes
    t: float

    @property
    def json(self) -> dict:
        return json.loads(self.body or b"{}")


@dataclass
class FakeGemini:
    host: str = "127.0.0.1"
    port: int = 0
    requests: list = field(default_factory=list)
    files: dict = field(default_factory=dict)        # id -> {"data", "mime", "polls"}
    batches: dict = field(default_factory=dict)      # id -> {"requests", "polls"}
    aliases: dict = field(default_factory=dict)      # text -> seed key
    faults: list = field(default_factory=list)       # [(code, retry_delay)]
    batch_polls_to_finish: int = 2

    # -- control --------------------------------------------------------------------------------
    def start(self) -> "FakeGemini":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _handle(self, method: str):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                rec = Recorded(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                with fake.lock:
                    fake.requests.append(rec)
                status, headers, payload = fake.route(rec)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                self._handle("POST")

            def do_GET(self):
                self._handle("GET")

        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def fail(self, code: int, times: int = 1, retry_delay: Optional[str] = None, message: str = "") -> None:
        with self.lock:
            self.faults += [(code, retry_delay, message)] * times

    def alias(self, text: str, like_key: str) -> None:
        self.aliases[text] = like_key

    def embed_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(":batchEmbedContents")]

    # -- protocol -------------------------------------------------------------------------------
    @staticmethod
    def error(code: int, status: str, message: str, details: Optional[list] = None) -> dict:
        e = {"code": code, "message": message, "status": status}
        if details:
            e["details"] = details
        return {"error": e}

    def seed_key(self, content: dict) -> str:
        keys = []
        for p in content.get("parts") or []:
            if "text" in p:
                t = _PREFIX.sub("", p["text"])
                keys.append(self.aliases.get(t, "text:" + t))
            for name in ("inline_data", "inlineData"):
                if name in p:
                    keys.append("bytes:" + hashlib.sha256(b64decode_any(p[name]["data"])).hexdigest())
            for name in ("file_data", "fileData"):
                if name in p:
                    uri = p[name].get("file_uri") or p[name].get("fileUri")
                    fid = uri.rsplit("/", 1)[-1]
                    keys.append("bytes:" + hashlib.sha256(self.files[fid]["data"]).hexdigest())
        return "+".join(keys)

    def embed_one(self, req: dict) -> dict:
        dims = int(req.get("outputDimensionality") or req.get("output_dimensionality") or FULL_DIMS)
        return {"values": vector_for(self.seed_key(req.get("content") or {}), dims)}

    def route(self, rec: Recorded):
        path = rec.path.split("?", 1)[0]
        with self.lock:
            fault = self.faults.pop(0) if self.faults and not path.startswith("/upload-session/") else None
        if fault:
            code, delay, message = fault
            status = {429: "RESOURCE_EXHAUSTED", 400: "INVALID_ARGUMENT", 503: "UNAVAILABLE",
                      500: "INTERNAL", 403: "PERMISSION_DENIED"}.get(code, "UNKNOWN")
            details = ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]
                       if delay else None)
            return code, {}, self.error(code, status, message or f"fake {status}", details)
        if not rec.headers.get("x-goog-api-key") and not path.startswith("/upload-session/"):
            return 403, {}, self.error(403, "PERMISSION_DENIED", "missing API key")
        m = re.fullmatch(r"/(v1|v1beta|v1alpha)/models/([^/:]+):batchEmbedContents", path)
        if m and rec.method == "POST":
            reqs = rec.json.get("requests") or []
            bad = [r for r in reqs if r.get("model") not in (f"models/{m.group(2)}", m.group(2))]
            if not reqs or bad:
                return 400, {}, self.error(400, "INVALID_ARGUMENT", "bad requests[] / model")
            embs = [self.embed_one(r) for r in reqs]
            tokens = 8 * len(reqs)
            return 200, {}, {"embeddings": embs,
                             "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens}}
        m = re.fullmatch(r"/upload/(v1|v1beta)/files", path)
        if m and rec.method == "POST" and rec.headers.get("x-goog-upload-command") == "start":
            fid = uuid.uuid4().hex[:12]
            with self.lock:
                self.files[fid] = {"data": b"", "mime": rec.headers.get("x-goog-upload-header-content-type"),
                                   "size": int(rec.headers.get("x-goog-upload-header-content-length") or 0),
                                   "polls": 0, "version": m.group(1)}
            return 200, {"x-goog-upload-url": f"{self.url}/upload-session/{fid}", "x-goog-upload-status": "active"}, {}
        m = re.fullmatch(r"/upload-session/([0-9a-f]+)", path)
        if m and rec.method == "POST":
            f = self.files[m.group(1)]
            if int(rec.headers.get("x-goog-upload-offset") or 0) != len(f["data"]):
                return 400, {}, self.error(400, "INVALID_ARGUMENT", "bad upload offset")
            f["data"] += rec.body
            if "finalize" in (rec.headers.get("x-goog-upload-command") or ""):
                return 200, {"x-goog-upload-status": "final"}, {"file": self.file_json(m.group(1), "PROCESSING")}
            return 200, {"x-goog-upload-status": "active"}, {}
        m = re.fullmatch(r"/(v1|v1beta)/files/([0-9a-f]+)", path)
        if m and rec.method == "GET":
            f = self.files[m.group(2)]
            f["polls"] += 1
            return 200, {}, self.file_json(m.group(2), "ACTIVE" if f["polls"] >= 1 else "PROCESSING")
        m = re.fullmatch(r"/(v1|v1beta)/models/([^/:]+):asyncBatchEmbedContent", path)
        if m and rec.method == "POST":
            batch = rec.json.get("batch") or {}
            reqs = (((batch.get("inputConfig") or {}).get("requests") or {}).get("requests")) or []
            bid = uuid.uuid4().hex[:12]
            with self.lock:
                self.batches[bid] = {"requests": [r.get("request") or {} for r in reqs], "polls": 0,
                                     "model": m.group(2)}
            return 200, {}, {"name": f"batches/{bid}",
                             "metadata": {"name": f"batches/{bid}", "state": "BATCH_STATE_PENDING",
                                          "model": f"models/{m.group(2)}"}}
        m = re.fullmatch(r"/(v1|v1beta)/batches/([0-9a-f]+)", path)
        if m and rec.method == "GET":
            b = self.batches.get(m.group(2))
            if b is None:
                return 404, {}, self.error(404, "NOT_FOUND", "no such batch")
            b["polls"] += 1
            meta = {"name": f"batches/{m.group(2)}", "model": f"models/{b['model']}"}
            if b["polls"] < self.batch_polls_to_finish:
                meta["state"] = "BATCH_STATE_RUNNING"
            else:
                meta["state"] = "BATCH_STATE_SUCCEEDED"
                meta["output"] = {"inlinedResponses": {"inlinedResponses": [
                    {"response": {"embedding": self.embed_one(r)}} for r in b["requests"]]}}
            return 200, {}, {"name": f"batches/{m.group(2)}", "metadata": meta,
                             "done": meta["state"] != "BATCH_STATE_RUNNING"}
        return 404, {}, self.error(404, "NOT_FOUND", f"fake server has no {rec.method} {path}")

    def file_json(self, fid: str, state: str) -> dict:
        f = self.files[fid]
        return {"name": f"files/{fid}", "uri": f"{self.url}/{f['version']}/files/{fid}", "mimeType": f["mime"],
                "sizeBytes": str(len(f["data"])), "state": state}
