"""The Bayesian classifier with its database in a real redis-server.

`mxmoat learn` on files, directories and mbox files (learned once per
message, moved when learned as the other class, forgotten), the storage
format read back with python3-redis, pruning under [bayes] memory, the
classifier in mxmoatd in front of smtp-sink (BAYES_* symbols, the verdict,
autolearn, Redis down = BAYES_SKIP and the mail flows), `mxmoat corpus
--split/--train/--baseline`, and the quality gate on ../shared/corpora:
half of each corpus learned, the other half tested, rules alone vs rules +
Bayes, against the baselines in tests/data/bayes-quality-*.json.
"""
import json
import os
import pty
import random
import re
import smtplib
import subprocess
from pathlib import Path

import pytest

import harness

TOP = Path(os.environ.get("MXMOAT_TOP_SRCDIR", Path(__file__).parents[2])).resolve()
CORPORA = (TOP / ".." / "shared" / "corpora").resolve()
BASELINES = TOP / "tests" / "data"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
H32 = 1 << 32

SPAM_WORDS = ("viagra casino jackpot lottery winner prize unclaimed bitcoin investment "
              "guaranteed refinance pharmacy discount offer limited urgent wire").split()
HAM_WORDS = ("meeting agenda minutes review patch kernel compile release branch "
             "tomorrow lunch project budget report schedule").split()
COMMON = "the message about please today thanks regards".split()


@pytest.fixture
def redis(tmp_path, _harness_objects):
    if not os.access(harness.REDIS_SERVER, os.X_OK):
        pytest.skip("redis-server not installed (Debian package redis-server)")
    server = harness.RedisServer(tmp_path / "redis", name="redis")
    _harness_objects.append(server)
    yield server.start()
    server.stop()


def mxmoat(*args, timeout=300):
    binary = harness.mxmoatd_binary().parent / "mxmoat"
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def conf_file(tmp_path, redis, **sections):
    conf = {"redis": {"address": redis.endpoint},
            "rules": {"paths": str(TOP / "rules")},
            "bayes": {"enabled": True, "min_spam": 5, "min_ham": 5}}
    for k, v in sections.items():
        conf.setdefault(k, {}).update(v)
    path = tmp_path / "mxmoat.conf"
    harness.write_ini(path, conf)
    return path


def message(i, words, subject=None, extra=""):
    return (f"From: sender{i}@example.org\nTo: rcpt@example.net\n"
            f"Subject: {subject or ' '.join(words[:3])}\n"
            f"Message-ID: <{i}.{words[0]}@example.org>\n"
            f"Date: Tue, 01 Dec 2026 12:{i % 60:02d}:00 +0000\n{extra}\n"
            + " ".join(words) + "\n")


def synthetic(directory, n, vocabulary, seed, start=0):
    """n messages of 12 words of the vocabulary and 4 common ones"""
    rnd = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        words = rnd.sample(vocabulary, 12) + rnd.sample(COMMON, 4)
        rnd.shuffle(words)
        (directory / f"m{i:04d}.eml").write_text(message(i, words))
    return directory


def token_hash(token: bytes) -> int:
    """bayes_token_hash(): FNV-1a 64 and MurmurHash3's fmix64"""
    m = (1 << 64) - 1
    h = 0xcbf29ce484222325
    for c in token:
        h = ((h ^ c) * 0x100000001b3) & m
    for mult in (0xff51afd7ed558ccd, 0xc4ceb9fe1a85ec53):
        h = ((h ^ (h >> 33)) * mult) & m
    h ^= h >> 33
    return h or 1


def split_point(name):
    """where --split puts a file: below the fraction = learned"""
    return (token_hash(name.encode()) >> 11) / float(1 << 53)


def token_counts(r, token: str, prefix="mxmoat:bayes:"):
    """(spam, ham) of a token as stored, or None"""
    buckets = int(r.hget(prefix + "meta", "buckets"))
    h = token_hash(token.encode())
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    field = "".join(b64[(h >> (6 * i)) & 63] for i in range(8))
    v = r.hget(f"{prefix}t:{(h >> 16) % buckets}", field)
    return None if v is None else divmod(int(v), H32)


def meta(r):
    m = r.hgetall("mxmoat:bayes:meta")
    return {k: int(v) for k, v in m.items()}


# --- mxmoat learn ------------------------------------------------------------


def test_learn_once_relearn_moves_forget_removes(tmp_path, redis):
    conf = conf_file(tmp_path, redis)
    spam = tmp_path / "spam"
    spam.mkdir()
    for i in range(3):
        (spam / f"s{i}.eml").write_text(message(i, ["zebracoin", f"spamword{i}", "casino"]))
    (spam / "SOURCE.md").write_text("not a message\n")
    r = redis.client()

    out = mxmoat("learn", "-c", conf, "--spam", spam)
    assert out.returncode == 0, out.stderr
    assert re.search(r"learned 3 messages as spam in [\d.]+s: 3 new, 0 moved from ham, "
                     r"0 already known", out.stdout), out.stdout
    assert "database mxmoat:bayes:*: 3 spam, 0 ham" in out.stdout
    assert meta(r)["nspam"] == 3 and meta(r).get("nham", 0) == 0
    assert token_counts(r, "zebracoin") == (3, 0)
    assert token_counts(r, "spamword1") == (1, 0)
    # the header tokens are there too, the date is not
    assert token_counts(r, "FD:example.org") == (3, 0)

    # learned twice counts once; the same message relayed another way too
    # (CRLF line ends, a Received field more)
    relayed = tmp_path / "relayed.eml"
    relayed.write_bytes(b"Received: from relay.example by mx.example.net; Tue, 1 Dec 2026\r\n"
                        + (spam / "s1.eml").read_bytes().replace(b"\n", b"\r\n"))
    out = mxmoat("learn", "-c", conf, "--spam", spam, relayed)
    assert out.returncode == 0, out.stderr
    assert "learned 4 messages as spam" in out.stdout and "0 new" in out.stdout
    assert "4 already known" in out.stdout
    assert meta(r)["nspam"] == 3 and token_counts(r, "zebracoin") == (3, 0)

    # learned as the other class: moved
    out = mxmoat("learn", "-c", conf, "--ham", spam / "s1.eml")
    assert out.returncode == 0, out.stderr
    assert "learned 1 messages as ham" in out.stdout and "1 moved from spam" in out.stdout
    assert (meta(r)["nspam"], meta(r)["nham"]) == (2, 1)
    assert token_counts(r, "zebracoin") == (2, 1)
    assert token_counts(r, "spamword1") == (0, 1)

    # forgotten: its tokens go, the database shrinks
    before = meta(r)["ntokens"]
    out = mxmoat("learn", "-c", conf, "--forget", spam / "s1.eml", spam / "s0.eml",
                 tmp_path / "relayed.eml")
    assert out.returncode == 0, out.stderr
    assert "forgot 2 of 3 messages (1 were not learned)" in out.stdout, out.stdout
    assert (meta(r)["nspam"], meta(r)["nham"]) == (1, 0)
    assert token_counts(r, "spamword1") is None and token_counts(r, "spamword0") is None
    assert token_counts(r, "zebracoin") == (1, 0)
    assert meta(r)["ntokens"] < before

    # every key has the prefix and a TTL
    keys = r.keys("*")
    assert keys and all(k.startswith("mxmoat:bayes:") for k in keys)
    assert all(0 < r.pttl(k) <= 180 * 86400 * 1000 for k in keys)

    out = mxmoat("learn", "-c", conf, "--status")
    assert out.returncode == 0 and "1 spam, 0 ham" in out.stdout
    out = mxmoat("learn", "-c", conf, "--reset")
    assert out.returncode == 0 and re.search(r"deleted \d+ keys", out.stdout)
    assert r.dbsize() == 0


def test_learn_mbox_and_directories_progress_only_on_a_tty(tmp_path, redis):
    conf = conf_file(tmp_path, redis)
    mbox = tmp_path / "ham.mbox"
    mbox.write_text(
        "From alice@example.org Tue Dec  1 12:00:00 2026\n" + message(1, ["meeting", "agenda"])
        + "\n>From the minutes: a quoted line\n\n"
        "From bob@example.org Tue Dec  1 12:01:00 2026\n" + message(2, ["kernel", "patch"])
        + "\nFrom here on, a body line that is no postmark\n\n"
        "From carol@example.org Tue Dec  1 12:02:00 2026\n" + message(3, ["budget", "report"]))
    tree = tmp_path / "maildir"
    synthetic(tree / "cur", 2, HAM_WORDS, 1)
    synthetic(tree / "new", 2, HAM_WORDS, 2, start=10)
    (tree / ".hidden").write_text("not a message\n")

    out = mxmoat("learn", "-c", conf, "--ham", mbox, tree)
    assert out.returncode == 0, out.stderr
    assert "learned 7 messages as ham" in out.stdout and "7 new" in out.stdout
    assert "\r" not in out.stderr and "learning:" not in out.stderr  # no terminal
    r = redis.client()
    assert token_counts(r, "F:alice") is None  # postmarks are not headers
    assert token_counts(r, "kernel")[1] >= 1
    # ">From " is unquoted, "From here on" stays in its message
    tokens = mxmoat("learn", "--tokens", mbox).stdout
    assert len(re.findall(r"^# .* message \d+: \d+ tokens", tokens, re.M)) == 3
    assert "\nminutes\n" in tokens and "\nhere\n" in tokens

    # on a terminal: a progress line on stderr
    master, slave = pty.openpty()
    binary = harness.mxmoatd_binary().parent / "mxmoat"
    p = subprocess.run([str(binary), "learn", "-c", str(conf), "--spam", str(mbox)],
                       stdout=subprocess.PIPE, stderr=slave, text=True, timeout=60)
    os.close(slave)
    drawn = os.read(master, 65536).decode()
    os.close(master)
    assert p.returncode == 0
    assert re.search(r"\rlearning \[#{30}\] 1/1 files, 3 messages, \d+ msg/s\r?\n", drawn), \
        repr(drawn)
    assert "3 moved from ham" in p.stdout


def test_pruning_keeps_the_database_within_its_memory_budget(tmp_path, redis):
    budget = 256 * 1024
    conf = conf_file(tmp_path, redis, bayes={"memory": budget})
    corpus = tmp_path / "many"
    corpus.mkdir()
    rnd = random.Random(7)
    for i in range(300):
        # 60 words seen once each, and one word in every message
        words = ["everywhere"] + [f"w{rnd.getrandbits(40):x}" for _ in range(60)]
        (corpus / f"m{i}.eml").write_text(message(i, words, subject="many words"))
    out = mxmoat("learn", "-c", conf, "--spam", corpus)
    assert out.returncode == 0, out.stderr
    m = re.search(r"(\d+) tokens \(room for (\d+)\)", out.stdout)
    ntokens, room = int(m.group(1)), int(m.group(2))
    assert 0 < ntokens <= room < 300 * 60
    r = redis.client()
    assert meta(r)["nspam"] == 300
    keys = r.keys("mxmoat:bayes:*")
    used = sum(r.memory_usage(k) for k in keys)
    assert used <= budget, f"{used} bytes in {len(keys)} keys for a budget of {budget}"
    fields = sum(r.hlen(k) for k in keys if ":t:" in k)
    assert fields == ntokens
    # compact encoding everywhere (no bucket past Redis's listpack limit)
    assert all(r.object("encoding", k) == "listpack" for k in keys)
    # what is seen in many messages survives; the ones seen once went first
    assert token_counts(r, "everywhere") == (300, 0)
    assert token_counts(r, "S:many") == (300, 0)


# --- in mxmoatd ---------------------------------------------------------------


def trained(tmp_path, redis, **sections):
    conf = conf_file(tmp_path, redis, **sections)
    spam = synthetic(tmp_path / "train" / "spam", 30, SPAM_WORDS, 11)
    ham = synthetic(tmp_path / "train" / "ham", 30, HAM_WORDS, 12)
    for what, d in (("--spam", spam), ("--ham", ham)):
        out = mxmoat("learn", "-c", conf, what, d)
        assert out.returncode == 0, out.stderr
    return conf


def daemon_config(redis, **bayes):
    return {"redis": {"address": redis.endpoint, "reconnect_min": "200ms",
                      "reconnect_max": "1s"},
            "rules": {"paths": str(TOP / "rules")},
            "bayes": {"enabled": True, "min_spam": 5, "min_ham": 5, **bayes},
            "log": {"level": "info"}}


def send(md, i, words, subject=None):
    """the reply code to DATA"""
    body = message(1000 + i, words, subject=subject).replace("\n", "\r\n")
    with smtplib.SMTP(md.host, md.port, timeout=30) as s:
        try:
            s.sendmail(f"sender{i}@example.org", ["rcpt@example.net"], body)
        except smtplib.SMTPDataError as e:
            return e.smtp_code
    return 250


def test_classified_in_mxmoatd_and_mail_flows_with_redis_down(tmp_path, redis, sink,
                                                              mxmoatd_factory):
    trained(tmp_path, redis)
    md = mxmoatd_factory(daemon_config(redis), downstream=sink)
    send(md, 1, ["jackpot", "casino", "lottery", "winner", "unclaimed", "prize", "the"])
    send(md, 2, ["meeting", "agenda", "review", "patch", "tomorrow", "the", "thanks"])
    delivered = sink.wait_messages(2)
    lines = md.wait_summaries(2)
    assert re.search(r"BAYES_99", lines[0]["symbols"]), lines[0]
    assert lines[0]["action"] == "tag"
    assert re.search(r"BAYES_00", lines[1]["symbols"]), lines[1]
    assert lines[1]["action"] == "accept"
    flags = [m.header("X-Spam-Flag") for m in delivered]
    assert flags.count("YES") == 1
    status = [m.header("X-Spam-Status") for m in delivered]
    assert any("BAYES_99" in (s or "") for s in status)

    redis.kill()
    mark = md.log_mark()
    for i in range(3):
        send(md, 10 + i, ["jackpot", "casino", "lottery"])
    sink.wait_messages(5)
    lines = md.wait_summaries(3, since=mark)
    assert all("BAYES_SKIP" in s["symbols"] for s in lines), lines
    assert all(s["action"] == "accept" for s in lines)
    md.wait_log(r"event=redis_down ", since=mark)
    assert md.log_count(r"event=plugin_error", since=mark) == 0


def test_autolearn_is_off_by_default_and_learns_far_scores(tmp_path, redis, sink,
                                                           mxmoatd_factory):
    trained(tmp_path, redis)
    r = redis.client()
    md = mxmoatd_factory(daemon_config(redis), downstream=sink)
    assert send(md, 1, ["plain", "words", GTUBE]) == 550
    md.wait_summaries(1)
    assert "BAYES_AUTOLEARN" not in md.summary_lines()[0]["symbols"]
    assert meta(r)["nspam"] == 30

    md.config["bayes"].update({"autolearn": True, "autolearn_ham_score": 0.5})
    md.reload(wait_for=r"event=reload status=ok")
    mark = md.log_mark()
    assert send(md, 2, ["other", "words", GTUBE]) == 550              # score 1000
    send(md, 3, ["meeting", "agenda", "review", "patch", "thanks"])  # below 0.5
    md.wait_summaries(2, since=mark)
    md.wait_log(r"event=bayes_autolearn class=ham result=learned", since=mark)
    md.wait_log(r"event=bayes_autolearn class=spam result=learned", since=mark)
    assert (meta(r)["nspam"], meta(r)["nham"]) == (31, 31)
    # the same message again counts once
    assert send(md, 2, ["other", "words", GTUBE]) == 550
    md.wait_log(r"event=bayes_autolearn class=spam result=already", since=mark)
    assert meta(r)["nspam"] == 31


# --- mxmoat corpus ------------------------------------------------------------


def test_corpus_split_train_and_baseline_gate(tmp_path, redis):
    conf = conf_file(tmp_path, redis)
    spam = synthetic(tmp_path / "c" / "spam", 40, SPAM_WORDS, 21)
    ham = synthetic(tmp_path / "c" / "ham", 40, HAM_WORDS, 22)
    # a spam that says nothing spammy, among the tested half: missed
    quiet = next(f"quiet{k}.eml" for k in range(100) if split_point(f"quiet{k}.eml") >= 0.5)
    (spam / quiet).write_text(message(99, HAM_WORDS[:8]))
    out = mxmoat("corpus", "-c", conf, "--json", "--split", "0.5", "--spam", spam, "--ham", ham)
    assert out.returncode == 0, out.stderr
    j = json.loads(out.stdout)
    assert j["trained"]["spam"] + j["spam"]["total"] == 41
    assert j["trained"]["ham"] + j["ham"]["total"] == 40
    assert 10 <= j["trained"]["spam"] <= 30
    assert {s["name"] for s in j["sources"]} == {"c/spam", "c/ham"}
    assert j["rules_alone"]["spam_flagged"] == 0 and j["spam"]["flagged"] > 0
    # the private database is gone afterwards
    assert redis.client().dbsize() == 0

    # --train: learn one corpus, evaluate another
    out = mxmoat("corpus", "-c", conf, "--train", tmp_path / "c", "--spam", spam, "--ham", ham)
    assert out.returncode == 0, out.stderr
    assert "bayes trained on 41 spam, 40 ham" in out.stdout
    assert re.search(r"rules alone \(without Bayes\): spam caught 0\.00%", out.stdout)
    assert re.search(r"c/spam +spam +41 +\d+\.\d+% caught +0\.00% caught", out.stdout)

    # the gate: no worse than the baseline passes, worse fails with 3
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps(j))
    out = mxmoat("corpus", "-c", conf, "--split", "0.5", "--baseline", base,
                 "--spam", spam, "--ham", ham)
    assert out.returncode == 0, out.stderr
    assert "gate: passed" in out.stderr
    assert j["false_negative_rate"] > 0  # the quiet one
    j["false_negative_rate"] = 0
    for s in j["sources"]:
        s["rate"] = 0
    base.write_text(json.dumps(j))
    out = mxmoat("corpus", "-c", conf, "--split", "0.5", "--baseline", base,
                 "--spam", spam, "--ham", ham)
    assert out.returncode == 3, out.stdout + out.stderr
    assert re.search(r"gate: c/spam +missed +\d+\.\d+% \(baseline +0\.00%\)  WORSE", out.stderr)
    assert "gate: FAILED" in out.stderr
    # ... unless within the tolerance
    out = mxmoat("corpus", "-c", conf, "--split", "0.5", "--baseline", base, "--tolerance", "50",
                 "--spam", spam, "--ham", ham)
    assert out.returncode == 0, out.stderr


# --- quality on the corpora ----------------------------------------------------

QUALITY = {
    "spamassassin": ("spamassassin/spam", "spamassassin/ham"),
    "recent": ("recent-spam/spam", "recent-ham/ham"),
}


@pytest.mark.parametrize("corpus", sorted(QUALITY))
def test_quality_half_learned_half_tested_against_the_baseline(corpus, tmp_path, redis,
                                                               capsys):
    spam, ham = (CORPORA / p for p in QUALITY[corpus])
    if not spam.is_dir() or not ham.is_dir():
        pytest.skip(f"corpora not there: {spam}, {ham}")
    conf = conf_file(tmp_path, redis, bayes={"min_spam": 200, "min_ham": 200})
    baseline = BASELINES / f"bayes-quality-{corpus}.json"
    out = mxmoat("corpus", "-c", conf, "--json", "--jobs", "2", "--split", "0.5",
                 "--baseline", baseline, "--spam", spam, "--ham", ham, timeout=600)
    j = json.loads(out.stdout)
    with capsys.disabled():
        print(f"\n{corpus}: learned {j['trained']['spam']} spam, {j['trained']['ham']} ham; "
              "tested:")
        for s in j["sources"]:
            what = "spam caught" if s["class"] == "spam" else "ham flagged"
            print(f"  {s['name']:20} {s['total']:5} {what}: rules alone "
                  f"{100 * s['flagged_rules_alone'] / s['total']:6.2f}%, rules + Bayes "
                  f"{100 * s['flagged'] / s['total']:6.2f}%")
        print(out.stderr.rstrip())
    assert out.returncode == 0, f"worse than {baseline}:\n{out.stderr}"
    # the targets
    for s in j["sources"]:
        rate = 100 * s["flagged"] / s["total"]
        if s["class"] == "spam":
            assert rate >= 95, s
        else:
            assert rate <= 0.5, s
