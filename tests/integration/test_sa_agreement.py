"""mxmoat's rules engine against SpamAssassin itself, on the same rules.

Debian's spamd (network tests off: -L; Bayes off; no user config) and
`mxmoat scan --rules /usr/share/spamassassin` look at the same messages
from ../shared/corpora. For every message the hit lists are compared on
the rules mxmoat runs in full (`mxmoat lint --list`: status run; rules
that need Perl eval code, relay parsing or the network are SpamAssassin's
alone and not compared). At least 95% of the messages must agree exactly;
what differs is printed rule by rule.

The sample is fixed (every Nth file of each corpus), so the figure is the
same from run to run.
"""
import collections
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import harness

TOP = Path(os.environ.get("MXMOAT_TOP_SRCDIR", Path(__file__).parents[2])).resolve()
CORPORA = TOP.parent / "shared" / "corpora"
SA_RULES = Path("/usr/share/spamassassin")
SAMPLE = [("spamassassin/ham", 45), ("spamassassin/spam", 45), ("recent-ham/ham", 35),
          ("recent-spam/spam", 45), ("mime-torture/spamassassin-t-data/spam", 15),
          ("mime-torture/spamassassin-t-data/nice", 15)]

pytestmark = pytest.mark.skipif(
    not SA_RULES.is_dir() or not shutil.which("spamd") or not CORPORA.is_dir(),
    reason="needs Debian spamassassin (spamd, spamc) and ../shared/corpora")


def sample_files():
    files = []
    for sub, n in SAMPLE:
        d = CORPORA / sub
        if not d.is_dir():
            continue
        names = sorted(p for p in d.iterdir() if p.is_file() and p.suffix != ".md")
        step = max(1, len(names) // n)
        files += names[::step][:n]
    return files


@pytest.fixture(scope="module")
def spamd(tmp_path_factory):
    port = harness.free_port()
    log = tmp_path_factory.mktemp("spamd") / "spamd.log"
    proc = harness.Proc(["/usr/sbin/spamd", "-L", "-x", "-i", f"127.0.0.1:{port}",
                         "-A", "127.0.0.1", "-m", "2", "--min-children", "2", "-u", "nobody",
                         "-s", "stderr", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0",
                         "--cf=use_auto_whitelist 0"], log, name="spamd")
    proc.start()
    harness.wait_port("127.0.0.1", port, timeout=60, alive=proc.alive)
    yield port
    proc.stop()


def sa_hits(port, path):
    data = path.read_bytes()
    r = subprocess.run(["/usr/bin/spamc", "-d", "127.0.0.1", "-p", str(port), "-y"],
                       input=data, capture_output=True, timeout=120)
    return set(filter(None, r.stdout.decode().strip().split(",")))


def mxmoat_bin():
    return harness.mxmoatd_binary().parent / "mxmoat"


def compared_rules():
    r = subprocess.run([str(mxmoat_bin()), "lint", "-q", "--list", "--rules", str(SA_RULES)],
                       capture_output=True, text=True, timeout=120)
    run = set()
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) == 5 and f[1] == "run":
            run.add(f[0])
    return run


def test_agrees_with_spamassassin(spamd):
    files = sample_files()
    assert len(files) >= 150
    compared = compared_rules()
    assert len(compared) > 300
    r = subprocess.run([str(mxmoat_bin()), "scan", "--json", "--rules", str(SA_RULES),
                        *map(str, files)], capture_output=True, text=True, timeout=600)
    ours = {}
    for line in r.stdout.splitlines():
        j = json.loads(line)
        ours[j["file"]] = {s["name"] for s in j["symbols"]}
    assert len(ours) == len(files), r.stderr[-2000:]

    agree = 0
    only_sa = collections.Counter()
    only_us = collections.Counter()
    examples = collections.defaultdict(list)
    for f in files:
        a = sa_hits(spamd, f) & compared
        b = ours[str(f)] & compared
        if a == b:
            agree += 1
            continue
        for rule in a - b:
            only_sa[rule] += 1
            examples[rule].append(f.name)
        for rule in b - a:
            only_us[rule] += 1
            examples[rule].append(f.name)
    share = agree / len(files)
    report = [f"{agree}/{len(files)} messages agree on {len(compared)} rules ({share:.1%})"]
    for rule, n in (only_sa + only_us).most_common():
        side = "SpamAssassin only" if rule in only_sa else "mxmoat only"
        report.append(f"  {rule}: {n} message(s), {side}, e.g. {examples[rule][0]}")
    print("\n".join(report))
    assert share >= 0.95, "\n".join(report)
