"""A damaged or unwritable store: refused before anything is written, and `health` still answers
with its document (issue 16). Real files, the real CLI in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-23T15:30-05:00"


@pytest.fixture
def home() -> Iterator[Path]:
    # Not tmp_path: the read-only test runs its child as another user, who must reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="ivcrush-store-"))
    folder.chmod(0o755)
    yield folder
    for p in [folder, *folder.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def _config(home: Path) -> Path:
    cfg = home / "c.toml"
    data = home / "data"
    cfg.write_text(f'[storage]\npath = "{data / "db.sqlite3"}"\nlog_dir = "{home / "log"}"\n')
    cfg.chmod(0o644)
    return cfg


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ivcrush_tui", "--demo", "--config", str(_config(home)), *args,
         "--as-of", AS_OF],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False,
    )  # fmt: skip


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_damaged_database_is_refused_untouched_and_health_says_so(home: Path) -> None:
    assert _run(home, "scan", "AAPL", "MSFT", "NVDA", "--json").returncode == 0
    db = home / "data" / "db-demo.sqlite3"  # --demo keeps its own file
    size = db.stat().st_size
    with db.open("r+b") as f:  # 200 kB of garbage in the middle, as a failing disk would leave
        f.seek(size // 2)
        f.write(os.urandom(min(200 * 1024, size // 3)))
    before = _sha(db)

    scan = _run(home, "scan", "AAPL", "--json")
    assert scan.returncode == 1
    assert scan.stdout == ""
    assert "is damaged" in scan.stderr
    assert "docs/RUNBOOK.md, 'A damaged database'" in scan.stderr
    assert "Traceback" not in scan.stderr
    assert _sha(db) == before  # nothing was written into it

    health = _run(home, "health", "--json")
    assert health.returncode == 1
    report = json.loads(health.stdout)
    assert report["status"] == "down"
    database = next(c for c in report["components"] if c["name"] == "database")
    assert database["status"] == "down"
    assert "is damaged" in database["detail"]
    assert _sha(db) == before


def _immutable(paths: list[Path]) -> bool:
    """Make `paths` unwritable even for root (the ext4 immutable flag); False where the file
    system or the sandbox does not support it."""
    return subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True).returncode == 0


def test_health_prints_its_document_from_a_read_only_folder(home: Path) -> None:
    assert _run(home, "scan", "AAPL", "--json").returncode == 0
    data = home / "data"
    files = [data, *data.iterdir()]
    for p in files:
        p.chmod(0o555 if p.is_dir() else 0o444)
    # Root ignores file modes: as root the folder is made immutable instead, or, where that
    # is not supported, the store's folder is made impossible to create (a file stands there).
    locked = os.geteuid() != 0 or _immutable(files)
    if not locked:
        for p in files:
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(data)
        data.write_text("not a folder")
    try:
        health = _run(home, "health", "--json")
    finally:
        if locked and os.geteuid() == 0:
            subprocess.run(["chattr", "-i", *map(str, files)], check=True)
    assert health.returncode == 1, health.stderr
    report = json.loads(health.stdout)  # a document, not nothing
    database = next(c for c in report["components"] if c["name"] == "database")
    assert database["status"] == "down"
    assert "Traceback" not in health.stderr
