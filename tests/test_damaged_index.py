"""An index folder that is not one (random bytes for a catalog, a path under a file): one `Error:` line from
every command, exit status 1, no traceback."""
from __future__ import annotations

import os

import pytest
from helpers import HANDOUT, run_cli


@pytest.mark.parametrize("command", [["status"], ["search", "eigenvalues"], ["ingest", HANDOUT]])
def test_damaged_catalog(tmp_path, command):
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "catalog.sqlite").write_bytes(os.urandom(8192))
    r = run_cli(*command, "--index", str(idx), timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == (f"Error: {idx}/catalog.sqlite: not a readable LectureFind catalog (file is not a "
                                "database); move it aside and ingest again"), r.stderr


def test_index_path_under_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    r = run_cli("ingest", HANDOUT, "--index", str(tmp_path / "notes.txt" / "idx"), timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == f"Error: {tmp_path}/notes.txt/idx: cannot create the index folder (not a directory)"
