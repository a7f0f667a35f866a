"""The `lecturefind` command line."""
from __future__ import annotations

import json
import os
import sys
import threading
from typing import Optional

import click

from .config import IngestConfig, default_index_dir
from .errors import os_reason, printable
from .gemini import cli_support as gemini_cli
from .rank.results import CONFIDENT, answered
from .timecode import clock_span

index_option = click.option("--index", "index_dir", default=default_index_dir, show_default="./lecturefind-index "
                            "or $LECTUREFIND_INDEX", type=click.Path(file_okay=False), help="Index directory.")
store_option = click.option("--store", default=None, metavar="STORE",
                            help="Where the vectors live: faiss, milvus (Lite in the index), milvus:PATH.db or "
                                 "milvus+http://HOST:PORT (default: $LECTUREFIND_STORE, else the index's own).")


class _Commands(click.Group):
    """Every command: a LectureFindError (damaged index, bad input) or a file system refusal is one line
    `Error: ...` and exit status 1, never a traceback."""

    def invoke(self, ctx):
        from .errors import LectureFindError

        try:
            return super().invoke(ctx)
        except LectureFindError as e:
            raise click.ClickException(printable(str(e))) from None
        except OSError as e:
            if e.errno is None or isinstance(e, (BrokenPipeError,)):
                raise
            where = f"{printable(str(e.filename))}: " if e.filename else ""
            raise click.ClickException(f"{where}{os_reason(e)}") from None


@click.group(cls=_Commands)
@click.version_option(package_name="lecturefind")
def main() -> None:
    """Search course videos and slide decks; answers are lecture moments."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")   # never reach a hub


class StageBars:
    """One tqdm bar per (file, stage); a file's speech finishes while the next file's pictures are read."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict = {}
        self.seen: set[str] = set()
        self._lock = threading.Lock()     # files report from their worker threads

    def __call__(self, path: str, stage: str, done: float, total: float) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._show(path, stage, done, total)

    def _show(self, path: str, stage: str, done: float, total: float) -> None:
        from tqdm import tqdm

        name = printable(os.path.basename(path))
        if path not in self.seen:
            self.seen.add(path)
            click.echo(f"» {name}", err=True)
        bar = self.bars.get((path, stage))
        if bar is None:
            unit = "s" if stage in ("frames", "asr") else "it"
            bar = self.bars[(path, stage)] = tqdm(
                total=round(total, 1), desc=f"  {name[:24]:<24} {stage:<6}", unit=unit, leave=True, file=sys.stderr,
                bar_format="{desc} {percentage:3.0f}%|{bar:24}| {n:.0f}/{total:.0f}{unit} [{elapsed}]")
        bar.n = round(min(done, total), 1)
        bar.refresh()
        if done >= total:
            bar.close()
            del self.bars[(path, stage)]

    def close(self) -> None:
        for b in self.bars.values():
            b.close()
        self.bars = {}


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--course", default=None, help="Course name (default: each file's folder name).")
@index_option
@click.option("--window", type=float, default=None, help="Clip length in seconds (default 30).")
@click.option("--overlap", type=float, default=None, help="Clip overlap in seconds (default 10).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option("--language", default=None, metavar="CODE",
              help="Spoken language of the lectures (ISO 639-1, e.g. es); default: detected per lecture.")
@click.option("--vocab", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Glossary for speech recognition: one course term per line (names, acronyms, jargon).")
@click.option("--course-vocab", is_flag=True,
              help="Also give the decoder the words printed in the course's slide PDFs (see README: WER vs ranking).")
@click.option("--slide-vocab/--no-slide-vocab", default=True,
              help="Give the decoder the terms OCR'd from each lecture's own slides (default: on).")
@click.option("--nice", "niceness", type=click.IntRange(0, 19),
              default=int(os.environ.get("LECTUREFIND_INGEST_NICE") or 10), show_default=True,
              help="CPU priority to yield to a server searching the same machine (0 = none).")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Files worked on at once (default 1, or $LECTUREFIND_INGEST_JOBS): on a machine with more than "
                   "2 cores, about cores/2.")
@store_option
@gemini_cli.ingest_options
def ingest(paths, course, index_dir, window, overlap, quiet, language, vocab, course_vocab, slide_vocab,
           niceness, jobs, store) -> None:
    """Index videos, audio and slide PDFs (files or folders, recursively)."""
    from .ingest.pipeline import Ingestor

    if niceness and hasattr(os, "nice"):
        os.nice(niceness)         # searches on this machine stay quick while an ingest keeps both cores busy

    cfg = IngestConfig.from_env()
    if window:
        cfg.window_s = window
    if overlap is not None:
        cfg.overlap_s = overlap
    if language:
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        if language.lower() not in _LANGUAGE_CODES:
            raise click.BadParameter(f"unknown language code {language!r} (ISO 639-1, e.g. en, es, de, fr)",
                                     param_hint="--language")
        cfg.language = language.lower()
    if vocab:
        from .signals.vocabulary import read_glossary

        cfg.glossary = tuple(read_glossary(vocab))
    if jobs:
        cfg.jobs = jobs
    cfg.course_vocab = course_vocab
    cfg.slide_vocab = cfg.slide_vocab and slide_vocab
    indexers = gemini_cli.for_ingest(paths, index_dir, cfg)   # none offline; --dry-run prints and exits
    bars = StageBars(enabled=not quiet)
    ing = Ingestor(index_dir, cfg, reporter=bars, log=lambda line: click.echo(line, err=True), indexers=indexers,
                   store=store)
    try:
        rep = ing.ingest(paths, course=course)
    finally:
        bars.close()
        ing.close()
    click.echo(rep.summary())
    if rep.stage_seconds:
        click.echo("stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in sorted(rep.stage_seconds.items())))
    sys.exit(1 if rep.errors else 0)


def _print_results(results, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([m.to_json() for m in results], ensure_ascii=False, indent=1))
        return
    if not results:
        click.echo("no results")
    elif not answered(results):
        click.echo(f"no good answer (best score {results[0].score:.2f} < {CONFIDENT:.2f}); the closest moments:")
    for i, m in enumerate(results, 1):
        where = f"page {m.page}" if m.kind == "pdf" else clock_span(m.start_s, m.end_s)
        click.echo(f"{i:2d}. [{m.score:.2f}] {printable(m.lecture)} ({printable(m.course)}) @ {where}  {m.url}")
        if m.snippet:
            click.echo(f"    {printable(m.snippet[:160])}")


@main.command()
@click.argument("text", required=False)
@click.option("--k", default=10, show_default=True, help="Number of results.")
@click.option("--course", default=None, help="Only this course.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option("--batch", type=click.Path(exists=True, dir_okay=False), help="JSONL file of queries.")
@click.option("--image", type=click.Path(dir_okay=False), help="Query image: a photo, screenshot or crop of a slide.")
@click.option("--audio", type=click.Path(dir_okay=False), help="Spoken question (wav/mp3/m4a/flac, at most 80 s).")
@index_option
@store_option
@gemini_cli.backend_option
def search(text, k, course, as_json, batch, image, audio, index_dir, store) -> None:
    """Search the index with a question, an image (with optional TEXT) or a recording."""
    from .errors import LectureFindError
    from .rank.searcher import Searcher

    if not os.path.exists(os.path.join(index_dir, "catalog.sqlite")):
        raise click.ClickException(f"no index at {os.path.abspath(index_dir)} (run `lecturefind ingest` first)")
    # --backend gemini: more rankings (text, photo, recording), fused by RRF
    searcher = Searcher(index_dir, extra_retrievers=gemini_cli.for_search(index_dir), store=store)
    try:
        if batch:
            _batch(searcher, batch, k, course)
            return
        if not (text or image or audio):
            raise click.UsageError("give a question (TEXT), --image FILE, --audio FILE or --batch FILE")
        try:
            results = searcher.search(text=text, image=image, audio=audio, k=k, course=course)
        except LectureFindError as e:
            raise click.ClickException(str(e)) from None
        _print_results(results, as_json)
    finally:
        searcher.close()


def _batch(searcher, path: str, k: int, course: Optional[str]) -> None:
    """One JSON line of results per query line; a bad line gets an `error` and the rest go on."""
    from .errors import LectureFindError

    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            qid = None
            try:
                q = json.loads(line)
                qid = q.get("qid", str(n))
                media = {f: os.path.join(base, q[f]) for f in ("image", "audio") if q.get(f)}
                results = searcher.search(text=q.get("text"), k=k, course=course, **media)
                out = {"qid": qid, "results": [m.to_json() for m in results]}
            except (LectureFindError, ValueError, OSError) as e:
                out = {"qid": qid or str(n), "results": [], "error": str(e)}
                click.echo(f"error: {printable(path)}:{n}: {printable(str(e))}", err=True)
            click.echo(json.dumps(out, ensure_ascii=False))
            sys.stdout.flush()


@main.command()
@index_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--links", "show_links", is_flag=True, help="List which PDF pages were shown in which video moments.")
@click.option("--chapters", "show_chapters", is_flag=True, help="List each video lecture's chapters.")
def status(index_dir, as_json, show_links, show_chapters) -> None:
    """What is indexed."""
    from .index.catalog import Catalog

    try:
        cat = Catalog(index_dir, readonly=True)
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None
    if show_links:
        _print_links(cat, as_json)
        return
    lectures = [dict(r) for r in cat.lectures()]
    failed = [dict(r) for r in cat.failed_files()]
    stamps = cat.stamps()
    if show_chapters:
        from .segment.chapters import lecture_chapters

        for lec in lectures:
            if lec["kind"] != "pdf":
                lec["chapters"] = [{"start_s": round(c.start, 2), "end_s": round(c.end, 2), "title": c.title}
                                   for c in lecture_chapters(cat, lec)]
    if as_json:
        for lec in lectures:
            lec.pop("sha256", None)
        click.echo(json.dumps({"index": cat.index_dir, "lectures": lectures, "failed": failed, "models": stamps,
                               "owed_pages": cat.owed_count()}, indent=1))
        return
    click.echo(f"index: {cat.index_dir}")
    for lec in lectures:
        extent = f"{lec['pages']} pages" if lec["kind"] == "pdf" else f"{(lec['duration'] or 0) / 60:.1f} min"
        lang = f", {lec['language']}" if lec["language"] else ""
        name = f"{printable(lec['course'])} / {printable(lec['title'])}"
        click.echo(f"  [{lec['id']}] {name} ({lec['kind']}, {extent}{lang}, "
                   f"{lec['n_segments']} segments)")
        for c in lec.get("chapters", []):
            click.echo(f"      {clock_span(c['start_s'], c['end_s']):>13}  {printable(c['title'])}")
    click.echo(f"{len(lectures)} lectures, {sum(lec['n_segments'] for lec in lectures)} segments, "
               f"{len(failed)} failed files")
    for f in failed:
        extra = " (searchable with the offline signals; run ingest again to retry)" if f["indexed"] else ""
        click.echo(f"  failed: {printable(f['path'])}: {printable(f['error'] or '')}{extra}")
    owed = cat.owed_count()
    if owed:
        click.echo(f"{owed} pages still owe their vectors or picture descriptors; they are found by their words "
                   f"meanwhile (rerun `lecturefind ingest` on any of the index's files to finish them)")
    if stamps:
        click.echo("models: " + ", ".join(f"{k}={v}" for k, v in sorted(stamps.items())))
    click.echo("store: " + _store_state(cat))


def _store_state(cat) -> str:
    """Where the index's vectors live and whether they are in step with the catalog."""
    from .errors import LectureFindError
    from .index.store import open_stores, store_spec

    try:
        spec = store_spec(cat, cat.index_dir)
        e5, _ = open_stores(spec, cat, cat.index_dir)
        state = "in step with the catalog" if e5.in_step(cat) else (
            "behind the catalog (the next search rebuilds it)" if spec.kind == "faiss" else
            f"behind the catalog: run `lecturefind ingest` or `lecturefind reindex --index {cat.index_dir}`")
        out = f"{e5.describe()} ({state})"
        if spec.kind == "faiss":
            from .index.bm25 import FILE, Bm25Index, in_step

            key = Bm25Index.file_key(os.path.join(cat.index_dir, FILE))
            words = "in step" if in_step(key, cat.texts_key()) else (
                f"{'behind the catalog' if key else 'not written'}: words are ranked with SQLite FTS5 until the "
                "next `lecturefind ingest`")
            out += f"; words: {FILE} ({words})"
        return out
    except LectureFindError as e:
        return printable(str(e))


@main.command()
@index_option
@store_option
def reindex(index_dir, store) -> None:
    """Rebuild the vector store from the catalog, which is the source of truth (e.g. to move to Milvus)."""
    import time

    from .index.catalog import Catalog
    from .index.store import open_stores, store_spec
    from .ingest.pipeline import IndexLock

    if not os.path.exists(os.path.join(index_dir, "catalog.sqlite")):
        raise click.ClickException(f"no index at {os.path.abspath(index_dir)} (run `lecturefind ingest` first)")
    t0 = time.perf_counter()
    with IndexLock(os.path.abspath(index_dir)):
        cat = Catalog(index_dir)
        try:
            spec = store_spec(cat, index_dir, store)
            counts = [s.rebuild(cat) for s in open_stores(spec, cat, index_dir)]
            extra, words = "", ""
            if spec.kind == "faiss":
                from .index.bm25 import Bm25Cache

                words = f" and BM25 over {Bm25Cache.of(index_dir).rebuild(cat).n} segments' words"
            if spec.kind == "milvus" and cat.gemini_space() is not None:
                from .index.milvus import GEMINI, MilvusStore

                extra = f" and {MilvusStore(spec, cat, GEMINI).rebuild(cat)} Gemini"
            cat.set_setting("store", str(spec))
        finally:
            cat.close()
    click.echo(f"{spec.label}: {counts[0]} e5 and {counts[1]} English{extra} vectors{words} from the catalog in "
               f"{time.perf_counter() - t0:.1f} s; search and serve use this store now")


@main.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes sharing the port (each loads its own models: ~0.5 GB).")
@store_option
def serve(index_dir, host, port, threads, workers, store) -> None:
    """Serve the web UI and JSON API (waitress; per-client connection bound, idle timeout). Settings:
    LECTUREFIND_ACCESS, ..._EMBED_ORIGINS, ..._RATE_LIMIT, ..._CONNECTIONS_PER_CLIENT, ..._IDLE_TIMEOUT_S, ..."""
    from .web import create_app
    from .web.server import make_server
    from .web.store import IndexMissing

    config = {"INDEX": index_dir, **({"STORE": store} if store else {})}

    def ready_app():
        app = create_app(config)
        app.extensions["lecturefind"].warm()      # open the index and load the text model before the first request
        return app

    if workers == 1:
        try:
            app = ready_app()
        except IndexMissing as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"LectureFind on http://{host}:{port}/ (index {app.config['INDEX']})", err=True)
        make_server(app, host=host, port=port, threads=threads).run()
        return
    from .index.catalog import Catalog
    from .index.store import store_spec
    from .web.server import listening_socket, serve_workers

    try:
        cat = Catalog(index_dir, readonly=True)
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None
    spec = store_spec(cat, index_dir, store)
    cat.close()
    if spec.kind == "milvus" and not spec.is_server:
        raise click.ClickException(f"Milvus Lite ({spec.label}) serves one process at a time: use --workers 1, "
                                   "or a Milvus server (--store milvus+http://HOST:19530) for several workers")
    sock = listening_socket(host, port)
    click.echo(f"LectureFind on http://{host}:{port}/ ({workers} workers, index {os.path.abspath(index_dir)})",
               err=True)
    serve_workers(ready_app, sock, workers, threads, log=lambda line: click.echo(line, err=True))


def _print_links(cat, as_json: bool) -> None:
    """PDF page ↔ video moments found by visual matching."""
    from .urls import URLS

    rows = cat.all_links()
    if as_json:
        click.echo(json.dumps([dict(r) for r in rows], indent=1))
        return
    if not rows:
        click.echo("no PDF page is shown in any video")
    for r in rows:
        click.echo(f"{printable(os.path.basename(r['deck_file']))} p.{r['page']} ↔ {printable(r['lecture'])} at "
                   f"{clock_span(r['start_s'], r['end_s'])}  ({URLS.watch(r['lecture_id'], r['start_s'])}, "
                   f"{r['inliers']} inliers)")


@main.command()
@click.argument("objectives", type=click.Path(dir_okay=False))
@click.option("--course", default=None, help="Audit this course only (default: the whole index).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table",
              show_default=True, help="Report format.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report here (default: standard output); written only when the audit succeeded.")
@click.option("--covered", type=click.FloatRange(0, 1), default=None,
              help="Strength from which an objective is covered (default 0.65, $LECTUREFIND_AUDIT_COVERED).")
@click.option("--thin", type=click.FloatRange(0, 1), default=None,
              help="Strength from which it is thin; below, missing (default 0.50, $LECTUREFIND_AUDIT_THIN).")
@click.option("--base-url", default=os.environ.get("LECTUREFIND_BASE_URL", ""), show_default="$LECTUREFIND_BASE_URL",
              help="Server address the report's links point at, e.g. http://lectures.example.edu.")
@click.option("--max-objectives", type=click.IntRange(1), default=None, help="Refuse longer lists (default 1000).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@index_option
def audit(objectives, course, fmt, out, covered, thin, base_url, max_objectives, quiet, index_dir) -> None:
    """Audit a course against its learning objectives: covered / thin / missing, where, taught twice, unclaimed.

    OBJECTIVES: a text or Markdown list (one per line or bullet; headings group them), a CSV with an
    `objective` column, or a syllabus PDF whose bullet lines are the objectives.
    """
    from .audit import report
    from .audit.coverage import Thresholds
    from .audit.objectives import MAX_OBJECTIVES, read_objectives
    from .rank.searcher import Searcher

    items = read_objectives(objectives, limit=max_objectives or MAX_OBJECTIVES)
    if not os.path.exists(os.path.join(index_dir, "catalog.sqlite")):
        raise click.ClickException(f"no index at {os.path.abspath(index_dir)} (run `lecturefind ingest` first)")
    base = Thresholds()
    thresholds = Thresholds(covered if covered is not None else base.covered, thin if thin is not None else base.thin)
    searcher = Searcher(index_dir)
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc="auditing", unit="objective", file=sys.stderr, leave=False)
    try:
        result = report.run_audit(searcher.catalog, searcher.search_text, items, course, thresholds,
                                  progress=(lambda done, total: bar.update(1)) if bar else None)
        base_url = base_url.rstrip("/")
        text = {"table": lambda: report.table(result),
                "json": lambda: json.dumps(result.to_json(), ensure_ascii=False, indent=1) + "\n",
                "csv": lambda: report.csv_text(result, base_url),
                "html": lambda: report.html(result, base_url)}[fmt]()
    finally:
        if bar:
            bar.close()
        searcher.close()
    if out:
        _write_whole(out, text)
        click.echo(f"audit of {len(items)} objectives written to {printable(out)}", err=True)
    else:
        click.echo(text, nl=False)


def _write_whole(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it: a reader never sees half a report."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".lecturefind-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- LMS integration: LTI 1.3 platforms, course links, API tokens ---------------------------------------
@main.group()
def lti() -> None:
    """Register LMS platforms (LTI 1.3) and link their courses to LectureFind courses."""


def _access(index_dir: str):
    from .index.access_store import AccessStore

    return AccessStore(index_dir)


@lti.command("add-platform")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://canvas.instructure.com.")
@click.option("--client-id", required=True, help="The client id the platform gave this tool.")
@click.option("--auth-url", required=True, help="The platform's OIDC authorization endpoint.")
@click.option("--token-url", default="", help="The platform's OAuth2 token endpoint (for LTI services).")
@click.option("--jwks-url", required=True, help="The platform's public key set (JWKS) URL.")
@click.option("--deployment", "deployments", multiple=True, required=True, help="A deployment id (repeatable).")
@click.option("--name", default="", help="A name for this platform.")
@click.option("--url", "base_url", default=os.environ.get("LECTUREFIND_BASE_URL", "https://lectures.example.edu"),
              show_default="$LECTUREFIND_BASE_URL", help="This server's public address, for the values to paste.")
@index_option
def lti_add(issuer, client_id, auth_url, token_url, jwks_url, deployments, name, base_url, index_dir) -> None:
    """Register (or update) an LMS; prints the values to paste into it."""
    from urllib.parse import urlparse

    from .index.access_store import Platform

    for label, url in (("--issuer", issuer), ("--auth-url", auth_url), ("--jwks-url", jwks_url)):
        u = urlparse(url)
        if u.scheme not in ("https", "http") or not u.netloc:
            raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint=label)
    store = _access(index_dir)
    store.add_platform(Platform(issuer, client_id, auth_url, jwks_url, token_url, tuple(deployments), name))
    from .lti.keys import ToolKeys

    ToolKeys(index_dir).current()          # the key pair exists before the LMS first asks for it
    click.echo(f"registered {issuer} (client {client_id}, {len(deployments)} deployment(s))")
    _print_tool_urls(base_url)


def _print_tool_urls(base_url: str) -> None:
    base = base_url.rstrip("/")
    click.echo("Paste into the LMS:")
    click.echo(f"  OIDC login (initiate login) URL : {base}/lti/login")
    click.echo(f"  Launch / redirect URL           : {base}/lti/launch")
    click.echo(f"  Deep Linking URL                : {base}/lti/launch")
    click.echo(f"  Public key set (JWKS) URL       : {base}/lti/jwks.json")


@lti.command("list")
@index_option
def lti_list(index_dir) -> None:
    """Registered platforms and linked courses."""
    store = _access(index_dir)
    platforms = store.platforms()
    if not platforms:
        click.echo("no platform registered (lecturefind lti add-platform ...)")
    for p in platforms:
        click.echo(f"{p.issuer}  client {p.client_id}  deployments {', '.join(p.deployments)}"
                   f"{'  (' + p.name + ')' if p.name else ''}")
        click.echo(f"    auth {p.auth_url}  jwks {p.jwks_url}")
    for c in store.contexts():
        click.echo(f"course link: {c['issuer']} context {c['context_id']} ({c['title']}) -> {c['course']}")


@lti.command("remove")
@click.option("--issuer", required=True)
@click.option("--client-id", default=None, help="Only this client id of the issuer.")
@index_option
def lti_remove(issuer, client_id, index_dir) -> None:
    """Unregister a platform: its launches are refused from now on."""
    n = _access(index_dir).remove_platform(issuer, client_id)
    if not n:
        raise click.ClickException(f"no platform registered for {issuer}")
    click.echo(f"removed {n} registration(s) of {issuer}")


@lti.command("link")
@click.option("--issuer", required=True)
@click.option("--context", "context_id", required=True, help="The LMS course's LTI context id.")
@click.option("--course", required=True, help="The LectureFind course its students see.")
@index_option
def lti_link(issuer, context_id, course, index_dir) -> None:
    """Link an LMS course (LTI context) to a LectureFind course."""
    _known_course(index_dir, course)
    _access(index_dir).link_context(issuer, context_id, course)
    click.echo(f"{issuer} context {context_id} -> {course}")


@lti.command("rotate-key")
@index_option
def lti_rotate(index_dir) -> None:
    """Make a new signing key pair; the previous public key stays in the JWKS for tokens in flight."""
    from .lti.keys import ToolKeys

    click.echo(f"new key {ToolKeys(index_dir).rotate()}")


def _known_course(index_dir: str, course: str) -> None:
    from .index.catalog import Catalog

    names = Catalog(index_dir, readonly=True).course_names()
    if course not in names:
        raise click.ClickException(f"no course named {course!r} in this index (courses: {', '.join(names)})")


@main.group()
def token() -> None:
    """API tokens: a client sending `Authorization: Bearer TOKEN` sees one course (in `lti` access mode)."""


@token.command("create")
@click.option("--course", required=True)
@click.option("--label", default="", help="Who or what the token is for.")
@index_option
def token_create(course, label, index_dir) -> None:
    """Print a new token (shown once; only its digest is stored)."""
    _known_course(index_dir, course)
    click.echo(_access(index_dir).new_token(course, label))


@token.command("list")
@index_option
def token_list(index_dir) -> None:
    for t in _access(index_dir).tokens():
        click.echo(f"{t['id']}  {t['course']}  {t['label']}")


@token.command("revoke")
@click.argument("token_id")
@index_option
def token_revoke(token_id, index_dir) -> None:
    """Revoke a token by the id `token list` shows."""
    if not _access(index_dir).revoke_token(token_id):
        raise click.ClickException(f"no token {token_id}")
    click.echo(f"revoked {token_id}")
