"""The rules engine: the shipped rules and their test messages, `mxmoat
lint` and `mxmoat scan`, SpamAssassin's own rules, and verdicts through
mxmoatd in front of a real Postfix.
"""
import json
import os
import re
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

import harness
from rawclient import RawClient

TOP = Path(os.environ.get("MXMOAT_TOP_SRCDIR", Path(__file__).parents[2])).resolve()
RULES = TOP / "rules"
CORPORA = TOP.parent / "shared" / "corpora"
SA_RULES = Path("/usr/share/spamassassin")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def mxmoat(*args, check=False):
    binary = harness.mxmoatd_binary().parent / "mxmoat"
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"mxmoat {' '.join(map(str, args))}: {r.returncode}\n{r.stderr}")
    return r


def scan_json(path, rules=RULES):
    r = mxmoat("scan", "--json", "--rules", rules, path)
    assert r.returncode in (0, 4, 5), r.stderr
    return json.loads(r.stdout.splitlines()[0])


def shipped_rules():
    """(name, file) of every reported rule in rules/*.cf"""
    out = []
    for cf in sorted(RULES.glob("*.cf")):
        for line in cf.read_text().splitlines():
            m = re.match(r"^\s*(header|body|rawbody|full|uri|mimeheader|meta)\s+(\w+)", line)
            if m and not m.group(2).startswith("__"):
                out.append((m.group(2), cf.name))
    return out


def test_every_shipped_rule_has_a_description_and_a_test_message():
    text = "\n".join(cf.read_text() for cf in RULES.glob("*.cf"))
    missing = []
    for name, cf in shipped_rules():
        if not re.search(rf"^\s*describe\s+{name}\s+\S", text, re.M):
            missing.append(f"{name} ({cf}): no describe")
        if not (RULES / "tests" / f"{name}.eml").exists():
            missing.append(f"{name} ({cf}): no rules/tests/{name}.eml")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("name", [n for n, _ in shipped_rules()])
def test_shipped_rule_hits_its_test_message(name):
    result = scan_json(RULES / "tests" / f"{name}.eml")
    hits = {s["name"] for s in result["symbols"]}
    assert name in hits, f"{name} not hit; hits: {sorted(hits)}"


@pytest.mark.parametrize("ham", sorted((RULES / "tests" / "ham").glob("*.eml")),
                         ids=lambda p: p.name)
def test_ham_examples_hit_nothing_that_counts(ham):
    result = scan_json(ham)
    strong = [s for s in result["symbols"] if s["score"] >= 1]
    assert not strong, strong
    assert result["action"] == "accept"


def test_lint_shipped_rules_clean():
    r = mxmoat("lint", "--rules", RULES)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "problems:         0" in r.stdout
    m = re.search(r"supported:\s+(\d+)", r.stdout)
    assert m and int(m.group(1)) >= len(shipped_rules())


def test_lint_reports_problems_with_file_and_line(tmp_path):
    (tmp_path / "bad.cf").write_text("body GOOD /ok/\nbody BROKEN /([unclosed/\n"
                                     "meta BADMETA GOOD &&\nif (version >= 3.0\nendif\n")
    r = mxmoat("lint", "--rules", tmp_path)
    assert r.returncode == 3, r.stdout
    assert f"{tmp_path}/bad.cf:2: BROKEN: regex:" in r.stdout
    assert f"{tmp_path}/bad.cf:3: meta BADMETA:" in r.stdout
    assert "problems:         " in r.stdout


def test_lint_bad_configuration(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("[rules]\nmatch_limt = 5\n")
    r = mxmoat("lint", "-c", conf)
    assert r.returncode == 1
    assert f"{conf}:2: unknown key \"match_limt\" in [rules]" in r.stderr


@pytest.mark.skipif(not SA_RULES.is_dir(), reason="Debian spamassassin not installed")
def test_spamassassin_rules_load():
    r = mxmoat("lint", "-q", "--rules", SA_RULES)
    # SpamAssassin's rules have some regexes PCRE2 cannot take (too large
    # after ReplaceTags): they load with problems, exit status 3
    assert r.returncode in (0, 3), r.stdout + r.stderr
    print(r.stdout)
    counts = dict(re.findall(r"^\s+([a-z ()]+):\s+(\d+)", r.stdout, re.M))
    assert int(counts["supported"]) > 1500, r.stdout


def test_scan_gtube_is_rejected(tmp_path):
    eml = tmp_path / "gtube.eml"
    eml.write_text("From: a@example.org\nTo: b@example.net\nSubject: test\n\n" + GTUBE + "\n")
    r = mxmoat("scan", "--rules", RULES, eml)
    assert r.returncode == 4, r.stdout
    assert "reject" in r.stdout and "GTUBE" in r.stdout
    result = scan_json(eml)
    assert result["score"] >= 1000 and result["action"] == "reject"


def test_scan_report_shows_description_and_match():
    r = mxmoat("scan", "--rules", RULES, RULES / "tests" / "MXM_PHISH_SUSPENDED.eml")
    assert "MXM_PHISH_SUSPENDED" in r.stdout
    assert "Says your account is suspended or locked" in r.stdout
    assert 'body "your account has been suspended"' in r.stdout


# --- through mxmoatd ----------------------------------------------------------------

def config(**sections):
    base = {"server": {"client_name_lookup": "no", "hostname": "mx.mxmoat.test"},
            "rules": {"paths": str(RULES)}}
    for name, keys in sections.items():
        base.setdefault(name, {}).update(keys)
    return base


def send(md, body_text, subject="test", extra=""):
    msg = (f"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n"
           f"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n"
           f"Subject: {subject}\r\n{extra}\r\n{body_text}\r\n").encode()
    with RawClient(md.host, md.port) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.net>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(msg + b".\r\n")
        return c.reply(), msg


def test_gtube_rejected_through_postfix(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    (code, lines), _ = send(md, GTUBE, "gtube")
    assert code == 550 and lines[0].startswith("5.7.1 Message rejected as spam [id=")
    decision = re.search(r"\[id=(\w+)\]", lines[0]).group(1)
    summary = md.wait_summaries(1)[-1]
    assert summary["id"] == decision
    assert summary["action"] == "reject" and "GTUBE" in summary["symbols"]
    time.sleep(1)
    assert postfix.sink.count() == 0 and postfix.queue_is_empty()


def test_tagged_message_arrives_with_headers(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(verdict={"rewrite_subject_score": "5"}), downstream=postfix)
    body = ("Dear customer,\r\n\r\nYour account has been suspended. Click here to verify your "
            "account within 24 hours: http://203.0.113.9/login.php\r\n")
    (code, lines), _ = send(md, body, "notice",
                            extra="X-Spam-Flag: NO\r\nX-Spam-Status: No, forged\r\n")
    assert code == 250, lines
    got = postfix.sink.wait_messages(1)[0]
    assert got.header("X-Spam-Flag") == "YES"
    status = got.header("X-Spam-Status")
    assert status.startswith("Yes, score=") and "MXM_PHISH_SUSPENDED" in status
    # the forged ones are gone: exactly one of each
    assert len(got.headers("X-Spam-Flag")) == 1 and len(got.headers("X-Spam-Status")) == 1
    assert "forged" not in got.raw.decode()
    assert got.header("Subject") == "[SPAM] notice"
    assert md.wait_summaries(1)[-1]["action"] == "tag"


def test_clean_message_unchanged_but_for_our_headers(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    body = "Hi Bob,\r\n\r\nlunch on Friday?\r\n\r\nAlice\r\n"
    (code, _), sent = send(md, body, "lunch")
    assert code == 250
    got = postfix.sink.wait_messages(1)[0]
    data = got.data_crlf
    # Postfix's Received on top, then our fields, then the message as sent
    lines = data.split(b"\r\n")
    i = 1
    while lines[i].startswith((b" ", b"\t")):
        i += 1
    rest = b"\r\n".join(lines[i:])
    ours = b""
    while rest.startswith((b"X-Spam-", b"\t")):
        line, _, rest = rest.partition(b"\r\n")
        ours += line + b"\r\n"
    assert rest == sent
    assert b"X-Spam-Status: No, score=" in ours and b"X-Spam-Flag" not in ours
    assert md.wait_summaries(1)[-1]["action"] == "accept"


def test_rules_reload_keeps_old_set_on_broken_file(sink, mxmoatd_factory, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "local.cf").write_text("body LOCAL_WORD /\\bzebrafish\\b/i\nscore LOCAL_WORD 20\n")
    md = mxmoatd_factory(config(rules={"paths": str(rules)}), downstream=sink)
    (code, _), _ = send(md, "about the zebrafish", "one")
    assert code == 550
    # a broken rule file: still loads (problems are logged), the good
    # rules keep working
    (rules / "local.cf").write_text("body LOCAL_WORD /\\bzebrafish\\b/i\nscore LOCAL_WORD 20\n"
                                    "body BROKEN /([/\n")
    md.reload(wait_for=r"event=reload status=ok")
    (code, _), _ = send(md, "about the zebrafish", "two")
    assert code == 550
    # a rules path that cannot be read fails the reload: old set kept
    md.config["rules"]["paths"] = str(tmp_path / "missing")
    md.reload(wait_for=r"event=reload status=failed")
    (code, _), _ = send(md, "about the zebrafish", "three")
    assert code == 550
    md.config["rules"]["paths"] = str(rules)
    (rules / "local.cf").write_text("body LOCAL_WORD /\\bzebrafish\\b/i\nscore LOCAL_WORD 0.5\n")
    md.reload(wait_for=r"event=reload status=ok")
    (code, _), _ = send(md, "about the zebrafish", "four")
    assert code == 250


def test_corpus_confusion_matrix_and_rule_counts(tmp_path):
    spam = tmp_path / "spam"
    spam.mkdir()
    for name in ("MXM_PHISH_COMBO", "MXM_ATTACH_DOUBLE_EXT", "MXM_LOTTERY"):
        (spam / f"{name}.eml").write_bytes((RULES / "tests" / f"{name}.eml").read_bytes())
    (spam / "gtube.eml").write_text("Subject: t\n\n" + GTUBE + "\n")
    (spam / "SOURCE.md").write_text("not a message")
    r = mxmoat("corpus", "--json", "--rules", RULES, "--spam", spam,
               "--ham", RULES / "tests" / "ham")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["spam"]["total"] == 4 and j["ham"]["total"] == 3
    # GTUBE, the phishing combination and the double extension are spam;
    # the lottery phrase alone is not
    assert j["spam"]["flagged"] == 3
    assert j["ham"]["flagged"] == 0 and j["false_positive_rate"] == 0
    rules = {x["name"]: x for x in j["rules"]}
    assert rules["GTUBE"]["spam"] == 1 and rules["GTUBE"]["ham"] == 0
    assert rules["MXM_LOTTERY"]["spam"] == 1
    text = mxmoat("corpus", "--rules", RULES, "--spam", spam).stdout
    assert "caught 75.00%" in text and "SPAM%    HAM%" in text


@pytest.mark.skipif(not SA_RULES.is_dir() or not CORPORA.is_dir(),
                    reason="needs Debian's spamassassin rules and ../shared/corpora")
def test_prefilter_changes_no_hit(tmp_path):
    """[rules] prefilter skips regexes whose required literal is absent:
    on SpamAssassin's rules over a sample of every corpus, each rule hits
    the same messages with and without it."""
    sample = tmp_path / "sample"
    sample.mkdir()
    n = 0
    for sub in ("spamassassin/spam", "spamassassin/ham", "recent-spam/spam",
                "recent-ham/ham", "mime-torture"):
        files = sorted(p for p in (CORPORA / sub).rglob("*")
                       if p.is_file() and p.suffix != ".md")
        for p in files[::max(1, len(files) // 60)][:60]:
            (sample / f"{n:04d}.eml").symlink_to(p)
            n += 1
    out = {}
    for mode in ("yes", "no"):
        conf = tmp_path / f"prefilter-{mode}.conf"
        conf.write_text(f"[rules]\nprefilter = {mode}\n")
        r = mxmoat("corpus", "-c", conf, "--json", "--jobs", "2", "--rules", SA_RULES,
                   "--spam", sample)
        assert r.returncode == 0, r.stderr
        j = json.loads(r.stdout)
        out[mode] = (j["spam"], {x["name"]: (x["spam"], x["ham"]) for x in j["rules"]})
    assert n >= 250 and len(out["no"][1]) >= 100, (n, len(out["no"][1]))
    differ = {k: (out["yes"][1].get(k), out["no"][1].get(k))
              for k in set(out["yes"][1]) | set(out["no"][1])
              if out["yes"][1].get(k) != out["no"][1].get(k)}
    assert not differ, differ
    assert out["yes"][0] == out["no"][0]
    assert "prefiltered:" in mxmoat("lint", "--rules", SA_RULES).stdout
