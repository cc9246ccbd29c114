"""msgdump - run `mxmoat dump --json` over message files, for the message
model's corpus tests (test_msg_*.py, test_gmime_diff.py).

  CORPORA        ../shared/corpora from the repository root
  corpus_files() message files of the corpora (or one sub-folder)
  dump(files)    {file: parsed JSON} from one mxmoat process per batch;
                 raises if mxmoat exits non-zero or writes to stderr (a
                 sanitizer report, a crash)
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPORA = (REPO_ROOT / ".." / "shared" / "corpora").resolve()
BUILD = Path(os.environ.get("MXMOAT_TOP_BUILDDIR") or (REPO_ROOT / "build"))

# files in the corpora that are not messages (keys, oracles, images)
NOT_MESSAGES = {".md", ".xml", ".out", ".bin", ".json", ".rtf", ".tnef", ".list", ".pem", ".pub",
                ".bind9", ".bmp", ".exr", ".gif", ".jpg", ".pbm", ".pgm", ".png", ".ppm",
                ".ras", ".sgi", ".tiff", ".webp", ".xbm", ".aifc", ".aiff", ".au", ".wav",
                ".hdb", ".dat", ".tnef", ".html", ".zip", ".pdf"}


def mxmoat() -> Path:
    path = BUILD / "mxmoat"
    if not path.exists():
        if os.environ.get("MXMOAT_TOP_BUILDDIR"):
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{path} is not built")
    return path


def need_corpora(sub: str = "") -> Path:
    d = CORPORA / sub
    if not d.is_dir():
        pytest.skip(f"corpus {d} is not there")
    return d


def is_message(p: Path) -> bool:
    name = p.name
    if name in ("LICENSE", "stdlib-LICENSE", "README.txt", "ARTISTIC-LICENSE.txt"):
        return False
    if p.suffix.lower() in NOT_MESSAGES:
        return False
    if "mime4j" in p.parts:
        return p.suffix == ".msg"  # the rest is the oracle
    if "tnef" in p.parts or "dkim" in p.parts and p.suffix != ".msg" and p.suffix != ".eml":
        return p.suffix == ".eml"
    # the spamassassin-t-data spam/nice files have no suffix or a number
    return True


def corpus_files(*subs: str) -> list[Path]:
    out = []
    for sub in subs:
        d = need_corpora(sub)
        out.extend(p for p in sorted(d.rglob("*")) if p.is_file() and is_message(p))
    return out


def dump(files, extra=(), batch=400, env=None) -> dict:
    """{str(file): json} for every file"""
    result = {}
    files = [str(f) for f in files]
    for i in range(0, len(files), batch):
        chunk = files[i:i + batch]
        proc = subprocess.run([str(mxmoat()), "dump", "--json", *extra, "--", *chunk],
                              capture_output=True, timeout=600, env=env)
        if proc.returncode != 0 or proc.stderr:
            raise AssertionError(f"mxmoat dump exited {proc.returncode} on {chunk[0]}..: "
                                 f"{proc.stderr.decode(errors='replace')[-3000:]}")
        for line in proc.stdout.decode("utf-8").splitlines():
            d = json.loads(line)
            result[d["file"]] = d
    return result
