"""The milter front end: mxmoatd's [milter] listener behind a real, private
Postfix (smtpd_milters = inet:127.0.0.1:PORT, milter_default_action =
tempfail) delivering to smtp-sink, clients smtplib; and miltertest scripts
(tests/integration/milter/*.lua) for the protocol edges.

What a user would check: the reply the SMTP client gets (code, enhanced
code, text with the decision id), what arrives at the sink (our headers,
spoofed ones gone, the rest untouched), Postfix's log (milter-reject,
milter-hold), mxmoatd's summary line; and that the proxy, `mxmoat scan`
and the milter agree on action and score for the same message.
"""
import base64
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

import harness

TOP = Path(os.environ.get("MXMOAT_TOP_SRCDIR", Path(__file__).parents[2])).resolve()
RULES = TOP / "rules"
LUA = Path(__file__).resolve().parent / "milter"
CORPORA = TOP.parent / "shared" / "corpora"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
MILTERTEST = "/usr/bin/miltertest"

pytestmark = pytest.mark.root


def message(subject="milter test", body="Hello, this is a plain message.\r\n", extra=""):
    return (f"From: Alice <a@example.org>\r\nTo: <b@example.com>\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
            f"Message-ID: <{time.time_ns()}@example.org>\r\n{extra}\r\n{body}").encode()


def eml(path):
    """a file of rules/tests as on the wire: CRLF lines"""
    data = Path(path).read_bytes().replace(b"\r\n", b"\n")
    return data.replace(b"\n", b"\r\n")


def mxmoat_binary():
    return harness.mxmoatd_binary().parent / "mxmoat"


def config(port, **sections):
    conf = {**no_http(),
        "server": {"listen": "", "client_name_lookup": False},
        "milter": {"listen": f"inet:{port}@127.0.0.1"},
        "rules": {"paths": str(RULES)},
        "log": {"level": "info"},
    }
    for k, v in sections.items():
        conf.setdefault(k, {}).update(v)
    return conf


def supports(section, key="enabled", value="no"):
    """does this mxmoatd know [section] key (plugins other engineers add)?"""
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(f"[server]\nlisten = 127.0.0.1:1\n[{section}]\n{key} = {value}\n")
        f.flush()
        r = subprocess.run([str(harness.mxmoatd_binary()), "-t", "-c", f.name],
                           capture_output=True, text=True)
    return r.returncode == 0


_NO_HTTP = None


def no_http():
    """[http] listen empty where the build has an HTTP listener (its fixed
    default port would collide between the daemons of one test)"""
    global _NO_HTTP
    if _NO_HTTP is None:
        _NO_HTTP = {"http": {"listen": ""}} if supports("http", "listen", "") else {}
    return _NO_HTTP


@pytest.fixture
def milter_factory(mxmoatd_factory):
    """milter_factory(**sections) -> a started mxmoatd with only the milter
    listener (md.milter_port), rules from the repository"""
    def make(name=None, **sections):
        port = harness.free_port()
        md = mxmoatd_factory(config(port, **sections), name=name)
        harness.wait_listening("127.0.0.1", port, 15, alive=md.alive,
                               details=lambda: md.log_text()[-3000:])
        md.milter_port = port
        return md
    return make


@pytest.fixture
def milter_postfix(postfix_factory):
    """milter_postfix(md, **main_cf) -> a Postfix using md's milter"""
    def make(md, name="postfix", **main_cf):
        return postfix_factory(name=name, main_cf={
            "smtpd_milters": f"inet:127.0.0.1:{md.milter_port}",
            "milter_default_action": "tempfail",
            "milter_protocol": 6,
            **main_cf})
    return make


def send(pf, data, rcpts=("b@example.com",), sender="a@example.org"):
    """one message through Postfix; returns (code, text) of the end of data"""
    with smtplib.SMTP(pf.host, pf.port, timeout=30) as s:
        s.ehlo("client.example.org")
        try:
            s.sendmail(sender, list(rcpts), data)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
        except smtplib.SMTPRecipientsRefused as e:
            code, text = list(e.recipients.values())[0]
            return code, text.decode()
        return 250, ""


def miltertest(script, port, **defines):
    if not os.access(MILTERTEST, os.X_OK):
        pytest.skip("miltertest not installed (Debian package miltertest)")
    argv = [MILTERTEST, "-D", f"port={port}", "-D", f"dir={LUA}"]
    for k, v in defines.items():
        argv += ["-D", f"{k}={v}"]
    argv += ["-s", str(LUA / script)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout + r.stderr


def summaries(md, since=0):
    return md.summary_lines(since)


def last_summary(md, n=1, since=0, timeout=10):
    return md.wait_summaries(n, timeout=timeout, since=since)[-1]


# --- through a real Postfix --------------------------------------------------------


def test_gtube_rejected_with_our_code_and_decision_id(milter_factory, milter_postfix):
    md = milter_factory()
    pf = milter_postfix(md)
    code, text = send(pf, message(body=f"{GTUBE}\r\n"))
    assert code == 550, text
    m = re.fullmatch(r"5\.7\.1 Message rejected as spam \[id=([0-9a-z]{13})\]", text)
    assert m, text
    sm = last_summary(md)
    assert sm["action"] == "reject" and sm["reason"] == "score"
    assert sm["id"] == m.group(1)
    assert "GTUBE=1000" in sm["symbols"]
    # Postfix's log says who refused, with our text; the queue id we log is
    # Postfix's
    line = pf.wait_log(r"milter-reject: END-OF-MESSAGE .*Message rejected as spam")
    qid = re.search(r"cleanup\[\d+\]: ([0-9A-F]+): milter-reject", pf.log_text()).group(1)
    assert sm["downstream_id"] == qid, (sm, line)
    assert pf.sink.count() == 0


def test_tagged_mail_arrives_with_our_headers(milter_factory, milter_postfix):
    md = milter_factory(verdict={"rewrite_subject_score": 8})
    pf = milter_postfix(md)
    code, text = send(pf, eml(RULES / "tests" / "MXM_PHISH_COMBO.eml"), rcpts=["bob@example.net"])
    assert code == 250, text
    got = pf.sink.wait_messages(1)[0]
    assert got.header("X-Spam-Flag") == "YES"
    status = got.header("X-Spam-Status")
    assert status.startswith("Yes, score=9.5 required=5.0 tests="), status
    assert got.header("X-Spam-Score") == "9.5"
    assert got.header("Subject") == "[SPAM] Test message"
    sm = last_summary(md)
    assert sm["action"] == "tag" and sm["score"] == "9.50", sm
    # ours sit right after Postfix's own Received:, as with the proxy
    names = [k for k, _ in got.message().items()]
    assert names[0] == "Received" and "(Postfix)" in got.message().get_all("Received")[0]
    assert names[1:4] == ["X-Spam-Flag", "X-Spam-Score", "X-Spam-Status"], names


def test_clean_mail_gets_only_our_headers_and_spoofed_ones_go(milter_factory, milter_postfix):
    md = milter_factory()
    pf = milter_postfix(md)
    long_value = "\r\n".join(f"\tpart-{i:03d} of a long folded field" for i in range(120))
    extra = ("X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=99 (spoofed)\r\n"
             "x-virus-status: Clean\r\nX-Spam-Status: second spoofed\r\n"
             f"X-Long: start\r\n{long_value}\r\n")
    body = "".join(f"line {i} of a clean body\r\n" for i in range(5000))
    sent = message(extra=extra, body=body)
    code, text = send(pf, sent)
    assert code == 250, text
    got = pf.sink.wait_messages(1)[0]
    # the message minus Postfix's Received: and our two fields is what was
    # sent minus the spoofed fields, byte for byte
    lines = got.data_crlf.split(b"\r\n")
    assert lines[0].startswith(b"Received: from ")
    i = 1
    while lines[i].startswith(b"\t"):
        i += 1
    assert lines[i] == b"X-Spam-Score: 0.0", lines[i]
    assert lines[i + 1] == b"X-Spam-Status: No, score=0.0 required=5.0 tests=none"
    rest = b"\r\n".join(lines[i + 2:])
    expected = re.sub(rb"(?im)^(x-spam-[^:]*|x-virus-[^:]*):[^\r\n]*\r\n", b"", sent)
    assert rest == expected
    sm = last_summary(md)
    assert sm["action"] == "accept" and int(sm["size"]) == len(sent)


def test_greylisting_at_rcpt_per_recipient(milter_factory, milter_postfix, tmp_path):
    if not supports("greylist"):
        pytest.skip("the greylist plugin is not in this build yet ([greylist] unknown)")
    if not os.access(harness.REDIS_SERVER, os.X_OK):
        pytest.skip("redis-server not installed (Debian package redis-server)")
    redis = harness.RedisServer(tmp_path / "redis").start()
    try:
        md = milter_factory(
            redis={"address": redis.endpoint},
            greylist={"enabled": True, "delay": "2s", "whitelist_file": "none",
                      "whitelist_recipients": "postmaster@"})
        pf = milter_postfix(md)

        def attempt(rcpts):
            with smtplib.SMTP(pf.host, pf.port, timeout=30) as s:
                s.ehlo("client.example.org")
                # a client from elsewhere: Postfix's XCLIENT (the milter
                # sees the address Postfix sees)
                code, _ = s.docmd("XCLIENT", "ADDR=192.0.2.10 NAME=[UNAVAILABLE]")
                assert code == 220
                s.ehlo("client.example.org")
                s.mail("sender@example.org")
                out = {r: s.rcpt(r) for r in rcpts}
                if any(c == 250 for c, _ in out.values()):
                    s.data(message())
                return {r: (c, t.decode()) for r, (c, t) in out.items()}

        first = attempt(["grey@example.com", "postmaster@example.com"])
        code, text = first["grey@example.com"]
        assert code == 451, first
        assert re.match(r"4\.7\.1 Greylisted.*\[id=[0-9a-z]{13}\]$", text), text
        assert first["postmaster@example.com"][0] == 250
        got = pf.sink.wait_messages(1)
        assert got[0].rcpts == ["postmaster@example.com"]
        pf.wait_log(r"milter-reject: RCPT from .*4\.7\.1 Greylisted")
        time.sleep(2.5)
        again = attempt(["grey@example.com"])
        assert again["grey@example.com"][0] == 250, again
        got = pf.sink.wait_messages(2)
        assert got[-1].rcpts == ["grey@example.com"]
        keys = redis.client().keys("*")
        assert any(k.startswith("mxmoat:gl:") for k in keys), keys
    finally:
        redis.stop()


def test_infected_mail_rejected(milter_factory, milter_postfix, tmp_path):
    if not supports("clamav"):
        pytest.skip("the ClamAV plugin is not in this build yet ([clamav] unknown)")
    sigs = CORPORA / "clamav-testsigs"
    if not (sigs / "eicar.ndb").exists():
        pytest.skip(f"no test signatures at {sigs}")
    db = tmp_path / "clamdb"
    db.mkdir()
    for name in ("eicar.ndb", "eicar-sha256.hdb"):
        shutil.copy(sigs / name, db / name)
    os.chmod(db, 0o755)
    md = milter_factory(clamav={"enabled": True, "database": str(db)})
    pf = milter_postfix(md)
    att = base64.encodebytes(EICAR.encode()).decode().replace("\n", "\r\n")
    body = ("--b1\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n"
            "--b1\r\nContent-Type: application/octet-stream; name=\"test.txt\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + att + "--b1--\r\n")
    code, text = send(pf, message(extra="MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                                        "boundary=\"b1\"\r\n", body=body))
    assert code == 554, text
    assert text.startswith("5.7.1 ") and "[id=" in text, text
    sm = last_summary(md)
    assert sm["action"] == "reject" and sm["reason"] == "virus", sm
    assert pf.sink.count() == 0


def test_quarantine_puts_rejected_mail_on_hold(milter_factory, milter_postfix):
    md = milter_factory(milter={"quarantine": "reject"})
    pf = milter_postfix(md)
    code, text = send(pf, message(body=f"{GTUBE}\r\n"))
    assert code == 250, text
    pf.wait_log(r"milter-hold: END-OF-MESSAGE .*milter triggers HOLD action")
    sm = last_summary(md)
    assert sm["action"] == "hold", sm
    assert sm["reply"] == f"held: mxmoat: reject (score) score=1000.00 id={sm['id']}", sm
    harness.wait_until(lambda: any((pf.queue_dir / "hold").iterdir()), 10,
                       what="a message in Postfix's hold queue")
    assert pf.sink.count() == 0


@pytest.mark.parametrize("on_error,expect", [("tempfail", 451), ("accept", 250)])
def test_scan_over_budget_follows_on_error(milter_factory, milter_postfix, on_error, expect):
    md = milter_factory(milter={"content_budget": "1ms", "on_error": on_error})
    pf = milter_postfix(md)
    body = "".join(f"line {i} with some words to scan http://example.com/{i}\r\n"
                   for i in range(60000))
    code, text = send(pf, message(body=body))
    assert code == expect, text
    assert "content_budget" in md.wait_log(r"event=milter_error .*").group(0)
    sm = last_summary(md)
    if expect == 451:
        assert re.fullmatch(r"4\.3\.0 Error: internal error \[id=[0-9a-z]{13}\]", text), text
        assert sm["action"] == "tempfail" and sm["reason"] == "scan_timeout"
        assert pf.sink.count() == 0
    else:
        got = pf.sink.wait_messages(1)[0]
        assert got.header("X-Spam-Status") is None  # not scanned, nothing claimed
        assert sm["action"] == "accept" and sm["reason"] == "unscanned"
    assert md.alive()


def test_sighup_reloads_without_stopping_the_milter(milter_factory, milter_postfix):
    md = milter_factory()
    pf = milter_postfix(md)
    code, text = send(pf, message(body=f"{GTUBE}\r\n"))
    assert (code, text.split(" [id=")[0]) == (550, "5.7.1 Message rejected as spam")
    for i, reply in enumerate(["Spam refused here", "Spam refused again"]):
        md.config.setdefault("verdict", {})["reject_text"] = reply
        md.reload(wait_for=r"event=reload status=ok", timeout=30)
        assert harness.is_listening("127.0.0.1", md.milter_port)
        code, text = send(pf, message(body=f"{GTUBE}\r\n"))
        assert (code, text.split(" [id=")[0]) == (550, f"5.7.1 {reply}"), (i, text)
        code, text = send(pf, message())
        assert code == 250, text
    assert "milter_stopped" not in md.log_text()
    assert "milter_shutdown" not in md.log_text()
    assert md.alive()


def test_sigterm_stops_the_milter_promptly(milter_factory, milter_postfix):
    md = milter_factory()
    pf = milter_postfix(md)
    assert send(pf, message())[0] == 250
    t0 = time.monotonic()
    status = md.stop(timeout=20)
    elapsed = time.monotonic() - t0
    assert status == 0
    assert elapsed < 4.5, elapsed  # libmilter alone would take up to 5 s
    text = md.log_text()
    # (Postfix may still hold its milter connection: it is dropped)
    assert "event=milter_shutdown" in text and "event=milter_stop connections_left=" in text
    assert not harness.is_listening("127.0.0.1", md.milter_port)


def test_bad_milter_listen_is_a_configuration_error(tmp_path):
    conf = tmp_path / "bad.conf"
    for bad in ("inet:99999@127.0.0.1", "127.0.0.1:10026", "unix:relative/path", "inet:@x"):
        conf.write_text(f"[milter]\nlisten = {bad}\n")
        r = subprocess.run([str(harness.mxmoatd_binary()), "-t", "-c", str(conf)],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "[milter] listen" in r.stderr, (bad, r.stderr)
    conf.write_text("[milter]\nlisten = inet:10026@127.0.0.1\nquarantine = reject, bogus\n")
    r = subprocess.run([str(harness.mxmoatd_binary()), "-t", "-c", str(conf)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "bogus" in r.stderr
    # a milter alone needs no [server] listen
    conf.write_text("[server]\nlisten =\n[milter]\nlisten = unix:/run/mxmoat/milter.sock\n")
    r = subprocess.run([str(harness.mxmoatd_binary()), "-t", "-c", str(conf)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --- one verdict path: mxmoat scan, the proxy and the milter agree ---------------


SAME = ["GTUBE", "MXM_PHISH_COMBO.eml", "MXM_ATTACH_DOUBLE_EXT.eml", "ham/plain.eml",
        "ham/attachment.eml"]


def test_same_action_and_score_from_scan_proxy_and_milter(milter_factory, milter_postfix,
                                                         mxmoatd_factory, sink_factory,
                                                         tmp_path):
    md = milter_factory()
    pf = milter_postfix(md)
    sink = sink_factory(name="proxy-sink")
    proxy = mxmoatd_factory({**no_http(), "server": {"client_name_lookup": False},
                             "downstream": {"forward": "none"},
                             "rules": {"paths": str(RULES)}, "log": {"level": "info"}},
                            downstream=sink, name="proxy")
    sender, rcpt = "a@example.org", "bob@example.net"
    results = {}
    for i, name in enumerate(SAME):
        data = (message(body=f"{GTUBE}\r\n") if name == "GTUBE"
                else eml(RULES / "tests" / name))
        path = tmp_path / f"msg{i}.eml"
        path.write_bytes(data)
        # 1. mxmoat scan
        r = subprocess.run([str(mxmoat_binary()), "scan", "--json", "--rules", str(RULES),
                            "--from", sender, "--rcpt", rcpt, "--ip", "127.0.0.1",
                            "--helo", "client.example.org", str(path)],
                           capture_output=True, text=True, timeout=60)
        scan = json.loads(r.stdout.splitlines()[0])
        # 2. the proxy
        mark = proxy.log_mark()
        with smtplib.SMTP(proxy.host, proxy.port, timeout=30) as s:
            s.ehlo("client.example.org")
            try:
                s.sendmail(sender, [rcpt], data)
            except smtplib.SMTPDataError:
                pass
        p = last_summary(proxy, since=mark)
        # 3. the milter, through Postfix
        mark = md.log_mark()
        send(pf, data, rcpts=[rcpt], sender=sender)
        m = last_summary(md, since=mark)
        # 4. the milter, the same bytes from miltertest
        mark = md.log_mark()
        rc, out = miltertest("message.lua", md.milter_port, msg=path, **{"from": sender},
                             rcpt=rcpt, qid=f"SAME{i}")
        assert rc == 0, out
        t = last_summary(md, since=mark)
        results[name] = (scan["action"], f"{scan['score']:.2f}", p["action"], p["score"],
                         m["action"], m["score"], t["action"], t["score"])
    for name, (sa, ss, pa, ps, ma, ms, ta, ts) in results.items():
        assert sa == pa == ma == ta and ss == ps == ms == ts, (name, results[name])
    # the set covers each kind of outcome
    assert {r[0] for r in results.values()} == {"reject", "tag", "accept"}, results


# --- protocol edges with miltertest ----------------------------------------------


def test_body_in_many_chunks(milter_factory):
    md = milter_factory()
    rc, out = miltertest("chunks.lua", md.milter_port)
    assert rc == 0, out
    assert "ok split-gtube-rejected" in out and "ok many-chunks-accepted" in out, out
    first, second = md.wait_summaries(2)[-2:]
    assert first["action"] == "reject" and "GTUBE" in first["symbols"]
    assert second["action"] == "accept" and int(second["size"]) > 2000 * 40


def test_very_long_headers(milter_factory):
    # GTUBE in the body, tagged rather than rejected: the subject is prefixed
    md = milter_factory(verdict={"rewrite_subject_score": 1, "reject_score": 0})
    rc, out = miltertest("longheaders.lua", md.milter_port, rewrite=1)
    assert rc == 0, out
    assert "ok long-headers-accepted" in out and "ok long-subject-prefixed" in out, out
    sm = last_summary(md)
    assert sm["action"] == "tag" and int(sm["size"]) > 2000, sm


def test_abort_mid_message(milter_factory):
    md = milter_factory()
    rc, out = miltertest("abort.lua", md.milter_port)
    assert rc == 0, out
    aborted, after = md.wait_summaries(2)[-2:]
    assert aborted["action"] == "abort" and aborted["downstream_id"] == "ABORT1"
    assert after["action"] == "accept" and after["downstream_id"] == "ABORT2"
    assert "GTUBE" not in after["symbols"]


def test_many_messages_per_connection(milter_factory):
    md = milter_factory()
    rc, out = miltertest("many.lua", md.milter_port, count=100)
    assert rc == 0, out
    assert "ok many-100" in out
    sms = md.wait_summaries(100)
    assert [s["action"] for s in sms] == ["reject", "accept"] * 50
    assert len({s["sid"] for s in sms}) == 1  # one MTA connection
    assert len({s["id"] for s in sms}) == 100  # a decision id each


def test_authenticated_sender_with_accept_policy(milter_factory):
    md = milter_factory(milter={"authenticated": "accept"})
    rc, out = miltertest("auth.lua", md.milter_port)
    assert rc == 0, out
    assert "ok authenticated-accepted" in out
    assert last_summary(md)["action"] == "accept"
