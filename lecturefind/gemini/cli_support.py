"""Click options and glue for `--backend gemini`, so the commands themselves change by a line or two.

The options store their values in the click context (`expose_value=False`), so command signatures stay as
they are; `for_ingest` / `for_search` read them back.
"""
from __future__ import annotations

import sys

import click

from .config import BACKENDS, GeminiConfig, backend_from_env
from .errors import GeminiError, api_key, scrub

_META = "lecturefind.gemini"


def _store(ctx: click.Context, param: click.Parameter, value):
    ctx.meta.setdefault(_META, {})[param.name] = value
    return value


def _opt(*decls, **kw):
    return click.option(*decls, expose_value=False, callback=_store, **kw)


def backend_option(f):
    return _opt("--backend", type=click.Choice(BACKENDS), default=None,
                help="offline (default) or gemini (Gemini Embedding 2, needs GEMINI_API_KEY); "
                     "env LECTUREFIND_BACKEND.")(f)


def ingest_options(f):
    f = _opt("--batch-api", "batch_api", is_flag=True, default=False,
             help="gemini: submit through the Batch API (half price; polling resumes after a restart).")(f)
    f = _opt("--dry-run", "dry_run", is_flag=True, default=False,
             help="gemini: print requests, seconds, pages and estimated cost; send nothing.")(f)
    f = _opt("--dims", type=click.IntRange(128, 3072), default=None,
             help="gemini: embedding size 128-3072 (default 3072; 768 or 1536 cut storage).")(f)
    return backend_option(f)


def _opts() -> dict:
    ctx = click.get_current_context()
    return ctx.meta.get(_META, {})


def _backend() -> str:
    return _opts().get("backend") or backend_from_env()


def _need_key() -> None:
    if not api_key():
        raise click.ClickException("the gemini backend needs an API key in GEMINI_API_KEY or GOOGLE_API_KEY "
                                   "(or use --backend offline)")


def for_ingest(paths, index_dir: str, ingest_cfg) -> list:
    """No indexers for the offline backend; prints the estimate and exits for --dry-run; else [GeminiIndexer]."""
    o = _opts()
    if _backend() != "gemini":
        if o.get("dry_run") or o.get("batch_api") or o.get("dims"):
            raise click.UsageError("--dry-run, --dims and --batch-api need --backend gemini")
        return []
    try:
        cfg = GeminiConfig.from_env(dims=o.get("dims"), batch_api=bool(o.get("batch_api")))
    except GeminiError as e:
        raise click.UsageError(str(e)) from None
    if o.get("dry_run"):
        from .indexer import estimate

        est = estimate(paths, index_dir, cfg, ingest_cfg)
        for line in est.errors:
            click.echo(line, err=True)
        for line in est.lines(cfg):
            click.echo(line)
        sys.exit(1 if est.errors else 0)
    _need_key()
    from .indexer import GeminiIndexer

    indexer = GeminiIndexer(index_dir, cfg, log=lambda line: click.echo(scrub(line), err=True))

    def done() -> None:
        click.echo(indexer.embedder.usage.line(cfg))
        indexer.close()

    click.get_current_context().call_on_close(done)
    return [indexer]


def for_search(index_dir: str) -> list:
    """The Gemini retrievers (text, photo, recording) when the gemini backend is chosen; else none."""
    if _backend() != "gemini":
        return []
    _need_key()
    from .retriever import GeminiSpace, gemini_retrievers

    space = GeminiSpace(index_dir, GeminiConfig.from_env(), warn=lambda line: click.echo(scrub(line), err=True))
    click.get_current_context().call_on_close(space.close)
    return gemini_retrievers(space)
