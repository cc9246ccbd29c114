"""Metrics, the decision history and the dashboard (issue 8).

A mix of clean, tagged, rejected (GTUBE), greylisted (at RCPT) and infected
messages goes through mxmoatd in front of smtp-sink, with the history in a
private redis-server. Then:
  * /metrics is checked by a strict parser of the exposition format (and
    promtool's linter) and scraped by a real Prometheus (Debian package
    prometheus) with the bearer token: the counters match what was sent;
  * the history holds each decision; /api/decision/<id> finds the id quoted
    in a reject text, with its symbols and the reply; searches by action,
    rule and text; it survives a restart of mxmoatd (Redis);
  * mxmoat stats / history / decision show the same;
  * the dashboard, in headless Chromium (Debian chromium + chromium-driver,
    driven by python3-selenium): it loads, its charts show the messages
    just sent, a search finds a decision and opens it; a screenshot is
    saved as dashboard.png in the test's tmp dir (its path is printed).
"""
import base64
import hashlib
import json
import math
import os
import re
import shutil
import smtplib
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import harness

TOP = Path(os.environ.get("MXMOAT_TOP_SRCDIR", Path(__file__).parents[2])).resolve()
BUILD = Path(os.environ.get("MXMOAT_TOP_BUILDDIR", TOP / "build"))
WHITELIST = TOP / "share" / "greylist-whitelist"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
TOKEN = "s3cret-token-for-tests"
ID_RE = re.compile(r"\[id=([0-9a-hjkmnp-tv-z]{13})\]")
# the attachment the test's signature matches (decoded), and its name
VIRUS = b"mxmoat stats test payload, not a real virus\n" * 20
VIRUS_NAME = "MxmoatTest.Stats.Payload-1"

pytestmark = pytest.mark.root


@pytest.fixture
def redis(tmp_path, _harness_objects):
    if not os.access(harness.REDIS_SERVER, os.X_OK):
        pytest.skip("redis-server not installed (Debian package redis-server)")
    r = harness.RedisServer(tmp_path / "redis", name="redis")
    _harness_objects.append(r)
    r.start()
    yield r
    r.stop()


def signatures(tmp_path):
    """A ClamAV database with one MD5 signature of VIRUS, readable by the
    [daemon] user."""
    db = tmp_path / "sigs"
    db.mkdir()
    (db / "stats.hdb").write_text(
        f"{hashlib.md5(VIRUS).hexdigest()}:{len(VIRUS)}:{VIRUS_NAME}\n")
    os.chmod(db, 0o755)
    os.chmod(db / "stats.hdb", 0o644)
    harness.make_traversable(db)
    return db


def config(redis, sigs, **sections):
    conf = {
        "server": {"client_name_lookup": False},
        "downstream": {"forward": "none"},
        "rules": {"paths": str(TOP / "rules")},
        # a message without Date and Message-ID scores 2 (MXM_MISSING_*):
        # tagged; GTUBE is rejected
        "verdict": {"add_header_score": 1.5},
        "clamav": {"enabled": True, "database": str(sigs)},
        "redis": {"address": redis.endpoint, "reconnect_min": "200ms", "reconnect_max": "1s"},
        "greylist": {"enabled": True, "delay": "60s", "whitelist_file": "none",
                     "whitelist_senders": "ok.example"},
        "history": {"redis": True},
        "http": {"token": TOKEN},
        "log": {"level": "info"},
    }
    for k, v in sections.items():
        conf.setdefault(k, {}).update(v)
    return conf


def message(subject, body="Hello, this is a normal message.", dated=True, attach=None):
    head = f"From: <a@ok.example>\r\nTo: <b@example.net>\r\nSubject: {subject}\r\n"
    if dated:
        head += (f"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
                 f"Message-ID: <{time.time_ns()}@ok.example>\r\n")
    if attach is None:
        return head + "\r\n" + body + "\r\n"
    b64 = base64.encodebytes(attach).decode().replace("\n", "\r\n")
    return (head + "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            f"--b1\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
            "--b1\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64}--b1--\r\n")


def send(md, sender, rcpts, msg):
    """(code, text) of the transaction's outcome: 250 for delivered, the
    refusal otherwise (at RCPT or after DATA)."""
    try:
        with smtplib.SMTP(md.host, md.port, timeout=30) as s:
            s.sendmail(sender, rcpts, msg)
        return 250, ""
    except smtplib.SMTPRecipientsRefused as e:
        code, text = next(iter(e.recipients.values()))
        return code, text.decode()
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode()


def send_mix(md):
    """Send the mix; returns {kind: [decision id or None, ...]} and what
    the counters must say."""
    ids = {}

    def one(kind, sender, rcpts, msg, want):
        code, text = send(md, sender, rcpts, msg)
        assert code == want, (kind, code, text)
        m = ID_RE.search(text)
        ids.setdefault(kind, []).append(m.group(1) if m else None)

    for i in range(3):
        one("clean", "a@ok.example", ["b@example.net"], message(f"clean {i}"), 250)
    for i in range(2):
        one("tagged", "a@ok.example", ["b@example.net"], message(f"tagged {i}", dated=False), 250)
    for i in range(2):
        one("rejected", "a@ok.example", ["b@example.net"], message(f"gtube {i}", GTUBE), 550)
    for i in range(2):
        one("greylisted", "g@grey.example", [f"user{i}@example.net"], message(f"grey {i}"), 451)
    one("infected", "a@ok.example", ["b@example.net"],
        message("infected 0", attach=VIRUS), 554)
    return ids


EXPECTED = {"accept": 3, "tag": 2, "greylist": 2, "tempfail": 0, "reject": 3,
            "discard": 0, "abort": 0}


def http_get(md, path, token=TOKEN, timeout=10):
    req = urllib.request.Request(md.http_url + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def api(md, path, status=200):
    code, headers, body = http_get(md, path)
    assert code == status, (path, code, body)
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


# --- a strict parser of the Prometheus text format (0.0.4) -------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)(?: -?\d+)?$")


def parse_exposition(text):
    """{(name, frozenset(labels)): value}; asserts the format on every
    line: HELP/TYPE once per family and before its samples, valid names,
    labels and values, histograms with cumulative buckets ending in
    +Inf == _count."""
    assert text.endswith("\n")
    types, samples, seen_help = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert re.fullmatch(NAME, name) and name not in seen_help, line
            seen_help.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"TYPE twice: {line}"
            types[name] = typ
            continue
        assert not line.startswith("#") and line.strip(), repr(line)
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample before its TYPE: {line}"
        v = float(value)  # raises on junk; +Inf/NaN allowed by float()
        lab = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or ""))
        key = (name, lab)
        assert key not in samples, f"duplicate sample: {line}"
        samples[key] = v
        if types[family] == "counter":
            assert v >= 0 and not math.isnan(v), line
    for name, typ in types.items():
        if typ != "histogram":
            continue
        series = {}
        for (n, lab), v in samples.items():
            if n == name + "_bucket":
                rest = frozenset(x for x in lab if x[0] != "le")
                le = dict(lab)["le"]
                series.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), v))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [c for _, c in buckets]
            assert counts == sorted(counts), f"{name} buckets not cumulative"
            assert buckets[-1][0] == math.inf
            assert samples[(name + "_count", rest)] == buckets[-1][1]
            assert (name + "_sum", rest) in samples
    return samples


def metric(samples, name, **labels):
    want = frozenset(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= lab)


# --- the tests -----------------------------------------------------------------

MILTERTEST = "/usr/bin/miltertest"
LUA = Path(__file__).resolve().parent / "milter"

def start(mxmoatd_factory, sink, redis, tmp_path, **kw):
    md = mxmoatd_factory(config(redis, signatures(tmp_path), **kw), downstream=sink)
    wait_healthy(md)
    return md


def wait_healthy(md):
    def healthy():
        try:
            return http_get(md, "/healthz", token=None)[0] == 200
        except OSError:  # the HTTP listener may open after the SMTP one
            return False

    harness.wait_until(healthy, 10, what="mxmoatd's /healthz", alive=md.alive)


def test_metrics_history_and_restart(tmp_path, sink, redis, mxmoatd_factory):
    md = start(mxmoatd_factory, sink, redis, tmp_path)
    ids = send_mix(md)
    summaries = md.wait_summaries(10)
    assert sink.wait_messages(5)

    # access: /healthz and the dashboard are open, the data needs the token
    assert http_get(md, "/healthz", token=None)[0] == 200
    assert http_get(md, "/", token=None)[0] == 200
    for path in ("/metrics", "/api/stats", "/api/history", f"/api/decision/{ids['rejected'][0]}"):
        code, headers, _ = http_get(md, path, token=None)
        assert code == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
        assert http_get(md, path, token="wrong")[0] == 401
    assert http_get(md, "/nope")[0] == 404

    # /metrics: strict format, and the counters say what was sent
    code, headers, text = http_get(md, "/metrics")
    assert code == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    s = parse_exposition(text)
    for action, n in EXPECTED.items():
        assert metric(s, "mxmoat_messages_total", action=action) == n, action
    assert metric(s, "mxmoat_decisions_total", action="reject", reason="score") == 2
    assert metric(s, "mxmoat_decisions_total", action="reject", reason="virus") == 1
    assert metric(s, "mxmoat_decisions_total", action="greylist", reason="greylist") == 2
    assert metric(s, "mxmoat_decisions_total", action="tag", reason="score") == 2
    assert metric(s, "mxmoat_rule_hits_total", rule="GTUBE", plugin="rules") == 2
    assert metric(s, "mxmoat_rule_hits_total", rule="MXM_MISSING_DATE") == 2
    assert metric(s, "mxmoat_rule_hits_total", rule="GREYLIST_NEW", plugin="greylist") == 2
    assert metric(s, "mxmoat_viruses_total", family="MxmoatTest.Stats.Payload") == 1
    assert metric(s, "mxmoat_connections_total") == 10
    assert metric(s, "mxmoat_connections_total", frontend="smtp") == 10
    assert metric(s, "mxmoat_connections_total", frontend="milter") == 0
    assert metric(s, "mxmoat_connections_active") == 0
    assert metric(s, "mxmoat_scan_duration_seconds_count") >= 8
    for plugin in ("rules", "clamav", "greylist"):
        assert metric(s, "mxmoat_plugin_duration_seconds_count", plugin=plugin) > 0, plugin
    # 5 messages reached the sink: 5 answers to the final dot
    assert metric(s, "mxmoat_downstream_replies_total", stage="data", **{"class": "2xx"}) == 5
    assert metric(s, "mxmoat_downstream_reply_duration_seconds_count", stage="connect") == 10
    assert metric(s, "mxmoat_clamav_signatures") >= 1
    assert ("mxmoat_redis_up", frozenset({("user", "history")})) in s
    assert metric(s, "mxmoat_redis_up", user="greylist") == 1
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                           capture_output=True)
        assert r.returncode == 0, r.stdout + r.stderr

    # /api/stats agrees, and its minute series holds the messages
    st = api(md, "/api/stats?minutes=5")
    for action, n in EXPECTED.items():
        assert st["messages"][action] == n
    assert sum(sum(row) for row in st["series"]["counts"]) == 10
    assert {"reason": "score", "action": "reject", "count": 2} in st["reasons"]
    assert st["history"]["store"] == "redis"

    # the history: every decision of the summary lines is there
    harness.wait_until(lambda: api(md, "/api/stats")["history"]["written"] >= 10, 10,
                       what="history records written to Redis")
    h = api(md, "/api/history?limit=100")
    assert h["source"] == "redis" and h["count"] == 10
    assert {r["id"] for r in h["records"]} == {sm["id"] for sm in summaries}
    assert [r["action"] for r in api(md, "/api/history?action=reject")["records"]].count(
        "reject") == 3
    assert api(md, "/api/history?action=reject")["count"] == 3
    assert api(md, "/api/history?rule=gtube")["count"] == 2
    assert api(md, "/api/history?action=greylist")["count"] == 2
    assert api(md, "/api/history?q=INFECTED%200")["count"] == 1
    assert api(md, "/api/history?since=10m&limit=4")["count"] == 4
    assert api(md, f"/api/history?since={int(time.time()) + 3600}")["count"] == 0
    assert http_get(md, "/api/history?action=bogus")[0] == 400

    # the id quoted in a reject text finds everything about that decision
    rid = ids["rejected"][0]
    d = api(md, f"/api/decision/{rid}")
    assert d["id"] == rid and d["action"] == "reject" and d["reason"] == "score"
    assert d["subject"] == "gtube 0" and d["from"] == "a@ok.example"
    assert d["rcpts"] == ["b@example.net"] and d["score"] >= 1000
    assert f"[id={rid}]" in d["reply"] and d["reply"].startswith("550 5.7.1")
    gt = [x for x in d["symbols"] if x["name"] == "GTUBE"][0]
    assert gt["score"] == 1000 and gt["plugin"] == "rules" and gt["detail"]
    vid = ids["infected"][0]
    v = api(md, f"/api/decision/{vid}")
    assert v["reason"] == "virus" and VIRUS_NAME in json.dumps(v["symbols"])
    gid = ids["greylisted"][0]
    g = api(md, f"/api/decision/{gid}")
    # greylisted at RCPT: the record holds the 451 the client got (not the
    # RSET's 250 that ended the transaction), as does the summary line
    assert g["action"] == "greylist" and g["nrcpt"] == 0
    assert g["reply"].startswith("451 4.7.1 Greylisted") and f"[id={gid}]" in g["reply"], g
    assert [r["reply"] for r in api(md, "/api/history?action=greylist")["records"]
            if r["id"] == gid] == [g["reply"]]
    assert [sm["reply"] for sm in summaries if sm["id"] == gid] == [g["reply"]]
    assert api(md, "/api/decision/0000000000000", status=404)["error"]
    assert http_get(md, "/api/decision/nonsense")[0] == 400

    # the CLI shows the same
    cli = [str(BUILD / "mxmoat")]
    out = subprocess.run(cli + ["stats", "-c", str(md.conf_path)], capture_output=True,
                         text=True, check=True).stdout
    assert re.search(r"^  reject\s+3\s+3$", out, re.M), out
    assert re.search(r"^  reject: score\s+2$", out, re.M), out
    assert re.search(r"^  GTUBE\s+2$", out, re.M), out
    js = json.loads(subprocess.run(cli + ["stats", "-c", str(md.conf_path), "--json"],
                                   capture_output=True, text=True, check=True).stdout)
    assert js["messages"]["total"] == 10
    out = subprocess.run(cli + ["history", "-c", str(md.conf_path), "--rule", "GTUBE"],
                         capture_output=True, text=True, check=True).stdout
    assert rid in out and "2 found" in out, out
    out = subprocess.run(cli + ["decision", "-c", str(md.conf_path), f"[id={rid}]"],
                         capture_output=True, text=True, check=True).stdout
    assert re.search(rf"^id\s+{rid}$", out, re.M) and re.search(r"^GTUBE\s+1000\.00\s+rules",
                                                                 out, re.M), out
    bad = subprocess.run(cli + ["decision", "-c", str(md.conf_path), "0000000000000"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "no such decision" in bad.stderr

    # a restart: the history is in Redis, the memory of the new daemon empty
    md.stop()
    md2 = mxmoatd_factory(config(redis, tmp_path / "sigs", http={"token": TOKEN,
                                                                  "listen": md.config["http"]["listen"]}),
                          downstream=sink, name="mxmoatd2")
    wait_healthy(md2)
    assert api(md2, "/api/stats")["history"]["in_memory"] == 0
    d2 = api(md2, f"/api/decision/{rid}")
    assert d2 == d
    h2 = api(md2, "/api/history?limit=100")
    assert h2["source"] == "redis" and {r["id"] for r in h2["records"]} == {
        sm["id"] for sm in summaries}
    # the counters start again, the history goes on
    assert metric(parse_exposition(http_get(md2, "/metrics")[2]), "mxmoat_messages_total") == 0


def test_history_without_redis_and_retention(tmp_path, sink, redis, mxmoatd_factory):
    """Redis down: records stay in memory (and are searched there), the
    daemon keeps serving; Redis back: new records reach it. Retention by
    count trims the stream and the per-decision records."""
    md = start(mxmoatd_factory, sink, redis, tmp_path,
               history={"redis": True, "max_records": 3},
               greylist={"enabled": False}, clamav={"enabled": False})
    first = []
    for i in range(5):
        code, text = send(md, "a@ok.example", ["b@example.net"], message(f"keep {i}", GTUBE))
        assert code == 550
        first.append(ID_RE.search(text).group(1))
    harness.wait_until(lambda: api(md, "/api/stats")["history"]["written"] >= 5, 10,
                       what="5 records written")
    rc = redis.client()
    assert rc.xlen("mxmoat:hist") == 3
    assert rc.exists(f"mxmoat:hist:d:{first[0]}") == 0
    assert rc.exists(f"mxmoat:hist:d:{first[4]}") == 1
    assert 0 < rc.pttl(f"mxmoat:hist:d:{first[4]}") <= 30 * 86400 * 1000
    assert 0 < rc.pttl("mxmoat:hist")
    assert api(md, "/api/history")["count"] == 3
    # the oldest is still in this node's memory
    assert api(md, f"/api/decision/{first[0]}")["id"] == first[0]

    redis.kill()
    code, text = send(md, "a@ok.example", ["b@example.net"], message("during outage", GTUBE))
    assert code == 550
    down_id = ID_RE.search(text).group(1)
    h = api(md, "/api/history?q=outage")
    assert h["source"] == "memory" and h["count"] == 1 and h.get("error")
    assert api(md, f"/api/decision/{down_id}")["id"] == down_id
    s = parse_exposition(http_get(md, "/metrics")[2])
    assert metric(s, "mxmoat_history_memory_records") == 6

    redis.start()
    harness.wait_until(lambda: api(md, "/api/history?q=outage")["source"] == "redis", 15,
                       what="history searches back on Redis", interval=0.5)
    # the record kept while Redis was away was written once it came back
    harness.wait_until(lambda: api(md, "/api/history?q=outage")["count"] == 1, 15,
                       what="the outage's record in Redis", interval=0.5)


def test_dashboard_in_chromium(tmp_path, sink, redis, mxmoatd_factory):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian packages chromium and chromium-driver are not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        pytest.skip("python3-selenium is not installed")
    md = start(mxmoatd_factory, sink, redis, tmp_path)
    ids = send_mix(md)
    md.wait_summaries(10)
    harness.wait_until(lambda: api(md, "/api/stats")["history"]["written"] >= 10, 10,
                       what="history records written")

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--window-size=1280,2000",
              f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(a)
    browser = webdriver.Chrome(service=Service(driver, log_output=str(tmp_path / "chromedriver.log")),
                               options=opts)
    shot = tmp_path / "dashboard.png"
    try:
        wait = WebDriverWait(browser, 20)
        # the page itself needs no token; the data does: first without it
        browser.get(md.http_url + "/")
        wait.until(lambda b: b.find_element(By.ID, "login").is_displayed())
        # with the token in the fragment (never sent to a server)
        browser.get(md.http_url + f"/#token={TOKEN}")
        browser.refresh()
        wait.until(lambda b: b.execute_script("return document.body.dataset.loaded") == "1")
        series = browser.find_element(By.ID, "chart-series")
        assert series.get_attribute("data-total") == "10"
        tiles = {t.get_attribute("data-action"): t.find_element(By.CLASS_NAME, "n").text
                 for t in browser.find_elements(By.CSS_SELECTOR, "#tiles .tile[data-action]")}
        assert {a: int(n) for a, n in tiles.items()} == EXPECTED
        assert browser.find_element(By.ID, "chart-rules").get_attribute("data-items") != "0"
        assert browser.find_element(By.ID, "chart-reasons").get_attribute("data-items") == "4"
        assert int(browser.find_element(By.ID, "chart-latency").get_attribute("data-count")) >= 8
        # the charts are drawn: pixels differ from the background
        painted = browser.execute_script("""
            const c = document.getElementById('chart-series');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;""")
        assert painted > 1000
        # the history lists all ten; a search by the rejected id finds it
        wait.until(lambda b: b.find_element(By.ID, "history").get_attribute("data-count") == "10")
        rid = ids["rejected"][1]
        q = browser.find_element(By.ID, "f-q")
        q.clear()
        q.send_keys(rid)
        browser.find_element(By.ID, "f-go").click()
        wait.until(lambda b: b.find_element(By.ID, "history").get_attribute("data-count") == "1")
        row = browser.find_element(By.CSS_SELECTOR, "#history tbody tr")
        assert row.get_attribute("data-id") == rid and "gtube 1" in row.text
        row.click()
        wait.until(lambda b: b.find_element(By.ID, "decision").is_displayed())
        assert browser.find_element(By.ID, "d-id").text == rid
        symbols = browser.find_element(By.ID, "d-symbols").text
        assert "GTUBE" in symbols and "1000" in symbols
        assert f"[id={rid}]" in browser.find_element(By.ID, "d-fields").text
        # back to the whole list for the picture
        q.clear()
        browser.find_element(By.ID, "f-go").click()
        wait.until(lambda b: b.find_element(By.ID, "history").get_attribute("data-count") == "10")
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(shot))
    finally:
        browser.quit()
    assert shot.stat().st_size > 10000
    print(f"dashboard screenshot: {shot}")


def test_prometheus_scrapes(tmp_path, sink, redis, mxmoatd_factory):
    prom = shutil.which("prometheus")
    if not prom:
        pytest.skip("Debian package prometheus is not installed")
    md = start(mxmoatd_factory, sink, redis, tmp_path)
    send_mix(md)
    md.wait_summaries(10)
    host, port = md.http_addr
    pdir = tmp_path / "prometheus"
    pdir.mkdir()
    (pdir / "prometheus.yml").write_text(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mxmoat
    authorization:
      credentials: {TOKEN}
    static_configs:
      - targets: ["{host}:{port}"]
""")
    pport = harness.free_port()
    log = open(pdir / "prometheus.log", "w")
    p = subprocess.Popen([prom, f"--config.file={pdir / 'prometheus.yml'}",
                          f"--storage.tsdb.path={pdir / 'data'}",
                          f"--web.listen-address=127.0.0.1:{pport}"],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        def query(expr):
            url = (f"http://127.0.0.1:{pport}/api/v1/query?" +
                   urllib.parse.urlencode({"query": expr}))
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())["data"]["result"]

        def scraped():
            try:
                return query('up{job="mxmoat"} == 1') and query("mxmoat_messages_total")
            except OSError:
                return False

        harness.wait_until(scraped, 30, what="Prometheus to scrape mxmoatd", interval=0.5)
        targets = json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{pport}/api/v1/targets", timeout=5).read())
        active = targets["data"]["activeTargets"][0]
        assert active["health"] == "up", active
        got = {r["metric"]["action"]: float(r["value"][1])
               for r in query("mxmoat_messages_total")}
        assert got == {a: float(n) for a, n in EXPECTED.items()}
        rules = {r["metric"]["rule"]: float(r["value"][1])
                 for r in query('mxmoat_rule_hits_total{plugin="rules"}')}
        assert rules["GTUBE"] == 2
        q = query("histogram_quantile(0.5, sum(mxmoat_scan_duration_seconds_bucket) by (le))")
        assert q and float(q[0]["value"][1]) > 0
    finally:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
        log.close()


def test_milter_connections_counted(tmp_path, sink, redis, mxmoatd_factory):
    """MTA connections to the milter count as connections (frontend="milter"),
    beside the proxy's SMTP sessions; their messages as messages."""
    if not os.access(MILTERTEST, os.X_OK):
        pytest.skip("miltertest not installed (Debian package miltertest)")
    mport = harness.free_port()
    md = start(mxmoatd_factory, sink, redis, tmp_path,
               milter={"listen": f"inet:{mport}@127.0.0.1"},
               greylist={"enabled": False}, clamav={"enabled": False})
    harness.wait_listening("127.0.0.1", mport, 15, alive=md.alive)

    def miltertest(count):
        r = subprocess.run([MILTERTEST, "-D", f"port={mport}", "-D", f"dir={LUA}",
                            "-D", f"count={count}", "-s", str(LUA / "many.lua")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and f"ok many-{count}" in r.stdout, r.stdout + r.stderr

    miltertest(4)
    miltertest(2)
    assert send(md, "a@ok.example", ["b@example.net"], message("smtp 0")) == (250, "")
    md.wait_summaries(7)

    def counted():
        s = parse_exposition(http_get(md, "/metrics")[2])
        return (metric(s, "mxmoat_connections_total", frontend="milter") == 2 and
                metric(s, "mxmoat_connections_active", frontend="milter") == 0 and s)

    # the gauge comes back to 0 when libmilter has closed the connection
    s = harness.wait_until(counted, 10, what="two closed milter connections counted")
    assert metric(s, "mxmoat_connections_total", frontend="smtp") == 1
    assert metric(s, "mxmoat_connections_total") == 3
    assert metric(s, "mxmoat_messages_total", action="reject") == 3
    assert metric(s, "mxmoat_messages_total", action="accept") == 4
    st = api(md, "/api/stats")
    assert st["connections"]["total"] == 3 and st["connections"]["active"] == 0
    assert st["connections"]["milter"] == {"active": 0, "total": 2}
    assert st["connections"]["smtp"] == {"active": 0, "total": 1}
    h = api(md, "/api/history?q=many0003")
    assert h["count"] == 1 and h["records"][0]["frontend"] == "milter"
