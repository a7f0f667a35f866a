"""A regular (non-editable) install works on its own: build the wheel, install it into a fresh venv outside the
checkout, ingest a video and a PDF, search, and serve every kind of page from the templates shipped in the wheel.

The new venv gets no dependencies of its own (that would download ~1 GB again): a `.pth` file makes the running
interpreter's site-packages visible after the venv's own, and the test checks that `lecturefind` itself is
imported from the venv, never from the checkout.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.error
import urllib.request
import zipfile

import pytest

from testing.servers import ServerFailed, free_port, stop, wait_listening

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "examples", "sample-course")
PDF = os.path.join(SAMPLE, "handout_eigenvalues_and_arbitration.pdf")
VIDEO = os.path.join(SAMPLE, "lecture01_eigenvalues.mp4")

# not copied into the build tree: the build only needs the sources (and stale build/ output would leak into it)
SKIP_TOP = {".git", ".venv", "build", "dist", "examples", "tests", "scripts", "test-artifacts", "lecturefind-index",
            ".pytest_cache", ".gl", ".whl"}


def _version() -> str:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["version"]


def _modern_setuptools() -> bool:
    """The build backend's own requirement (pyproject: setuptools>=77) is met by the running interpreter."""
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LECTUREFIND_WEB_DIR", "LECTUREFIND_INDEX", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _run(cmd, cwd, timeout=300, check=True) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, f"{cmd} -> {p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}"
    return p


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    """The wheel, built from a copy of the working tree (so the build never writes into the checkout)."""
    base = tmp_path_factory.mktemp("wheel-build")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=lambda d, names: [
        n for n in names if (d == ROOT and n in SKIP_TOP) or n == "__pycache__" or n.endswith((".pyc", ".egg-info"))])
    dist = base / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)]
    if _modern_setuptools():
        cmd.insert(4, "--no-build-isolation")
    _run(cmd, cwd=str(base), timeout=300)
    wheels = sorted(dist.glob("lecturefind-*.whl"))
    assert len(wheels) == 1, wheels
    return str(wheels[0])


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> dict:
    """A fresh venv outside the checkout with the wheel installed (--no-deps) and the host's packages visible."""
    home = tmp_path_factory.mktemp("wheel-venv")
    vdir = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(vdir)], check=True, timeout=120)
    py = str(vdir / "bin" / "python")
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    host = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    assert all(os.path.realpath(h) != os.path.realpath(ROOT) for h in host), host   # packages, never the sources
    with open(os.path.join(site, "_lecturefind_host_deps.pth"), "w") as f:
        f.write("".join(h + "\n" for h in sorted(host)))
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "-q", wheel], cwd=str(home))
    work = home / "work"      # the cwd of every command: neither the checkout nor the venv
    work.mkdir()
    return {"dir": str(vdir), "python": py, "bin": str(vdir / "bin" / "lecturefind"), "work": str(work),
            "index": str(home / "index")}


@pytest.fixture(scope="module")
def ingested(venv) -> dict:
    """The handout and one lecture ingested by the installed command; catalog ids by kind."""
    t0 = time.monotonic()
    _run([venv["bin"], "ingest", PDF, VIDEO, "--index", venv["index"], "--course", "Wheel Check", "--quiet"],
         cwd=venv["work"], timeout=600)
    print(f"ingest took {time.monotonic() - t0:.1f}s")
    st = json.loads(_run([venv["bin"], "status", "--json", "--index", venv["index"]], cwd=venv["work"]).stdout)
    kinds = {lec["kind"]: lec["id"] for lec in st["lectures"]}
    assert "pdf" in kinds and len(kinds) == 2, st["lectures"]
    return {"pdf": kinds.pop("pdf"), "video": next(iter(kinds.values()))}


def _source_packages() -> set[str]:
    out = set()
    for d, dirs, files in os.walk(os.path.join(ROOT, "lecturefind")):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        if "__init__.py" in files:
            out.add(os.path.relpath(d, ROOT).replace(os.sep, "."))
    return out


def test_pyproject_lists_every_package():
    """Fast: the packages are listed by hand in pyproject.toml (find cannot add the mapped `web/` folder)."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    missing = _source_packages() - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"
    assert "lecturefind.webui" in listed


@pytest.mark.slow
def test_wheel_ships_every_package_and_the_web_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for pkg in _source_packages():
        rel = pkg.replace(".", "/") + "/__init__.py"
        assert rel in names, f"{rel} missing from the wheel"
    for sub in ("templates", "static"):
        for d, _, files in os.walk(os.path.join(ROOT, "web", sub)):
            for fn in files:
                rel = os.path.relpath(os.path.join(d, fn), os.path.join(ROOT, "web")).replace(os.sep, "/")
                assert f"lecturefind/webui/{rel}" in names, f"web/{rel} missing from the wheel"
    assert not any(n.startswith(("web/", "tests/", "examples/")) for n in names)


@pytest.mark.slow
def test_installed_package_comes_from_the_venv(venv):
    out = _run([venv["python"], "-c", "import lecturefind, lecturefind.webui, lecturefind.web as w; "
                "print(lecturefind.__file__); print(lecturefind.webui.__file__); print(w.WEB_DIR)"],
               cwd=venv["work"]).stdout.split()
    vdir = os.path.realpath(venv["dir"]) + os.sep
    for path in out:
        real = os.path.realpath(path)
        assert real.startswith(vdir), f"{path} is not inside the new venv {vdir}"
        assert not real.startswith(os.path.realpath(ROOT) + os.sep), path
    assert os.path.isfile(os.path.join(out[2], "templates", "error.html"))
    version = _run([venv["bin"], "--version"], cwd=venv["work"]).stdout
    assert _version() in version, version


@pytest.mark.slow
def test_installed_cli_ingests_and_searches(venv, ingested):
    res = json.loads(_run([venv["bin"], "search", "eigenvalue", "--json", "--index", venv["index"]],
                          cwd=venv["work"]).stdout)
    assert res, "no results"
    assert {r["lecture_id"] for r in res} <= {ingested["pdf"], ingested["video"]}
    assert any("eigen" in (r["snippet"] + r["lecture"]).lower() for r in res), res[:3]


@pytest.mark.slow
def test_no_index_page_renders_from_the_installed_templates(venv):
    code = ("import sys; from lecturefind.web import create_app\n"
            "r = create_app({'INDEX': sys.argv[1]}).test_client().get('/')\n"
            "print(r.status_code, r.mimetype); print(r.get_data(as_text=True))\n")
    out = _run([venv["python"], "-c", code, os.path.join(venv["work"], "no-index-here")], cwd=venv["work"]).stdout
    head, _, body = out.partition("\n")
    assert head == "503 text/html", head
    assert "No index yet" in body and 'class="error-page"' in body and "/static/style.css" in body


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.headers.get_content_type(), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get_content_type(), e.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def server(venv, ingested):
    port = free_port()
    log = open(os.path.join(venv["work"], "serve.log"), "w+")
    proc = subprocess.Popen([venv["bin"], "serve", "--index", venv["index"], "--port", str(port), "--threads", "2"],
                            cwd=venv["work"], env=_env(), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_listening(proc, port, 180, log_tail=lambda: (log.seek(0), log.read()[-3000:])[1])
        except ServerFailed as e:
            pytest.fail(str(e))
        yield {"base": base, "log": log.name}
    finally:
        stop(proc)
        log.close()


def _log_tail(server) -> str:
    with open(server["log"]) as f:
        return "\nserver log:\n" + f.read()[-4000:]


@pytest.mark.slow
def test_served_pages_use_the_installed_templates_and_assets(server, ingested):
    base = server["base"]
    code, ctype, home = _get(base + "/")
    assert (code, ctype) == (200, "text/html"), _log_tail(server)
    assert re.search(r"<form\b", home) and re.search(r"<input\b[^>]*\bname=\"q\"", home), home[:2000]
    assets = sorted(set(re.findall(r"(?:href|src)=\"(/static/[^\"?#]+)", home)))
    assert {"/static/style.css", "/static/app.js"} <= set(assets), assets
    for path in assets:
        code, _, body = _get(base + path)
        assert code == 200 and body, path + _log_tail(server)

    for path in (f"/watch/{ingested['video']}?t=0", "/embed", f"/pdf/{ingested['pdf']}?page=1"):
        code, ctype, body = _get(base + path)
        assert (code, ctype) == (200, "text/html"), f"{path} -> {code} {ctype}" + _log_tail(server)
        assert "/static/style.css" in body, path

    # the audit and LTI pages' own assets and the tool's key set ship in the wheel too
    for path in ("/static/audit.css", "/static/lti.js", "/healthz"):
        code, _, body = _get(base + path)
        assert code == 200 and body, path + _log_tail(server)
    code, ctype, body = _get(base + "/lti/jwks.json")
    assert (code, ctype) == (200, "application/json"), (code, ctype)
    assert [k["kty"] for k in json.loads(body)["keys"]] == ["RSA"], body

    code, ctype, body = _get(base + "/no/such/page")
    assert (code, ctype) == (404, "text/html"), (code, ctype, body[:500])
    assert 'class="error-page"' in body and "<h1>Not found</h1>" in body, body[:1000]
