"""Differential test against GMime 3 (Debian libgmime-3.0-dev).

tests/gmime/gmime_summary parses each corpus message with GMime and prints
a summary (tests/gmime/summary.h): the part tree, content types, file
names, the decoded body of every leaf (text normalised for line ends and
trailing white space), the UTF-8 text of text/plain parts. msg_summary
prints the same for every reading of mxmoat's parse, with the flags.

For every message the summaries agree, or the difference is explained:
  * GMime's summary is one of our other readings (the message is
    ambiguous; we keep GMime's reading too), or
  * we flag the part of the message that differs: an ambiguity flag for
    a different tree, a decoding flag (bad-base64, bad-qp, bad-charset,
    bad-encoded-word) for different bytes or text, or a limit, or
  * the message is listed in tests/gmime/known-differences.txt under a
    category that says why we read it differently (and the list has no
    stale entries).
The test prints the agreement figures. It is skipped when configure did
not find GMime (gmime_summary not built).
"""

from __future__ import annotations

import collections
import os
import subprocess
from pathlib import Path

import pytest

import msgdump

KNOWN = msgdump.REPO_ROOT / "tests" / "gmime" / "known-differences.txt"
CORPORA = ["mime-torture", "spamassassin", "recent-ham", "recent-spam"]

STRUCTURAL = {"two-boundaries", "two-content-types", "two-cte", "boundary-in-base64",
              "missing-close", "header-no-colon", "nul", "bare-cr", "header-name-comment",
              "part-after-close", "boundary-prefix", "boundary-mismatch", "no-boundary",
              "empty-boundary", "bad-content-type", "bad-params", "limit-headers", "limit-depth",
              "limit-parts", "limit-params"}
DECODING = {"bad-base64", "bad-qp", "limit-decoded"}
TEXT = {"bad-charset", "bad-qp", "bad-base64", "limit-text", "limit-decoded"}
NAMES = {"bad-encoded-word", "bad-charset", "limit-params", "limit-headers"}
EXPLAINS = {"structure": STRUCTURAL, "fn": STRUCTURAL | NAMES,
            "decoded": STRUCTURAL | DECODING, "text": STRUCTURAL | TEXT}


def tool(name: str) -> Path:
    p = msgdump.BUILD / "tests" / "gmime" / name
    if not p.exists():
        pytest.skip(f"{p} not built (configure found no GMime 3)")
    return p


def run(tool_path: Path, files, *args) -> str:
    proc = subprocess.run([str(tool_path), *args], input="\n".join(map(str, files)) + "\n",
                          capture_output=True, text=True, errors="replace", timeout=1200)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr[-3000:]
    return proc.stdout


def parse_gmime(text: str) -> dict:
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith("== "):
            cur = line[3:]
            out[cur] = []
        else:
            out[cur].append(line)
    return out


def parse_ours(text: str) -> dict:
    """{file: (readings [[lines]], flags set)}"""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith("== "):
            cur = line[3:]
            out[cur] = ([], set())
        elif line.startswith("-- reading "):
            out[cur][0].append([])
        elif line.startswith("flags"):
            out[cur][1].update(line.split()[1:])
        else:
            out[cur][0][-1].append(line)
    return out


def fields(line: str) -> dict:
    parts = line.split(" ")
    d = {"path": parts[0], "type": parts[1] if len(parts) > 1 else ""}
    rest = " ".join(parts[2:])
    if rest.startswith('fn="'):
        end = rest.index('" ', 4) if '" ' in rest[4:] else len(rest)
        d["fn"] = rest[4:end]
        rest = rest[end + 2:]
    for t in rest.split():
        if "=" in t:
            k, v = t.split("=", 1)
            d[k] = v
    return d


def kind_of(ours: list, theirs: list) -> str:
    """what differs first: structure, fn, decoded or text"""
    if len(ours) != len(theirs):
        return "structure"
    for a, b in zip(ours, theirs):
        fa, fb = fields(a), fields(b)
        if (fa["path"], fa["type"]) != (fb["path"], fb["type"]):
            return "structure"
    for a, b in zip(ours, theirs):
        fa, fb = fields(a), fields(b)
        if fa.get("fn") != fb.get("fn"):
            return "fn"
        if (fa.get("dlen"), fa.get("dh")) != (fb.get("dlen"), fb.get("dh")):
            return "decoded"
        if (fa.get("tlen"), fa.get("th")) != (fb.get("tlen"), fb.get("th")):
            return "text"
    return "structure"


def load_known() -> dict:
    """{relative path: category}, and the category descriptions"""
    known, cats, cat = {}, {}, None
    for raw in KNOWN.read_text().splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            cat = line[1:-1]
            cats[cat] = ""
        elif line.startswith("  ") and cat is not None and not known_path(line):
            cats[cat] += line.strip() + " "
        else:
            assert cat is not None, f"{KNOWN}: {line}: no category yet"
            known[line.strip()] = cat
    return known, cats


def known_path(line: str) -> bool:
    s = line.strip()
    return "/" in s and " " not in s


def test_gmime_differential():
    gm_tool, our_tool = tool("gmime_summary"), tool("msg_summary")
    files = []
    for c in CORPORA:
        files.extend(msgdump.corpus_files(c))
    root = msgdump.CORPORA
    rel = {str(f): str(f.relative_to(root)) for f in files}
    theirs = parse_gmime(run(gm_tool, files))
    ours = parse_ours(run(our_tool, files, "-a"))
    known, cats = load_known()
    stats = collections.Counter()
    by_cat = collections.Counter()
    unexplained, stale = [], []
    for f in map(str, files):
        r = rel[f]
        g = theirs[f]
        readings, flags = ours[f]
        if g == readings[0]:
            stats["agree"] += 1
            if r in known:
                stale.append(f"{r} (agrees now)")
            continue
        if g == ["noparse"]:
            stats["gmime-no-message"] += 1
            continue
        if any(g == other for other in readings[1:]):
            stats["another reading"] += 1
            if r in known:
                stale.append(f"{r} (GMime's reading is one of ours)")
            continue
        kind = kind_of(readings[0], g)
        if EXPLAINS[kind] & flags:
            stats[f"flagged ({kind})"] += 1
            if r in known:
                stale.append(f"{r} (flagged: {sorted(EXPLAINS[kind] & flags)})")
            continue
        if r in known:
            stats["listed"] += 1
            by_cat[known[r]] += 1
            continue
        unexplained.append((r, kind, readings[0][:6], g[:6], sorted(flags)))
    total = len(files)
    report = [f"GMime differential over {total} messages:"]
    for k, v in sorted(stats.items(), key=lambda kv: -kv[1]):
        report.append(f"  {k}: {v} ({100.0 * v / total:.2f}%)")
    for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1]):
        report.append(f"    listed as {k}: {v}")
    print("\n".join(report))
    if os.environ.get("MXMOAT_GMIME_LIST"):
        for r, kind, *_ in unexplained:
            print(f"UNEXPLAINED {kind} {r}")
    for r in known:
        if r not in rel.values():
            stale.append(f"{r} (no such corpus file)")
    for c in set(known.values()):
        assert c in cats, f"category {c} has no description"
    msg = [f"{r}: {kind} differs, flags {fl}\n  ours:  {o}\n  GMime: {t}"
           for r, kind, o, t, fl in unexplained[:20]]
    assert not unexplained, f"{len(unexplained)} unexplained differences:\n" + "\n".join(msg)
    assert not stale, "stale entries in known-differences.txt:\n" + "\n".join(stale[:40])
    # the bar: GMime and we agree, or our other readings hold GMime's, for
    # almost all real mail
    assert stats["agree"] + stats["another reading"] >= 0.95 * total
