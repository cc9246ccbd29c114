"""The documented deployments (etc/postfix/*), started from the snippets
themselves: a clean message is delivered, GTUBE is rejected.

Only the ports change (free loopback ports instead of 25/10024/10025);
every Postfix option comes from the master.cf snippets.
"""
import os
import re
import smtplib
import time
from pathlib import Path

import pytest

import harness

TOP = Path(os.environ.get("MXMOAT_TOP_SRCDIR", Path(__file__).parents[2])).resolve()
DOCS = TOP / "etc" / "postfix"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def master_entries(name):
    """[(service, {option: value})] of a master.cf snippet"""
    entries = []
    for line in (DOCS / name).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            m = re.match(r"\s+-o\s+([^=]+)=(.*)$", line)
            assert m, line
            entries[-1][1][m.group(1)] = m.group(2)
        else:
            entries.append((line.split()[0], {}))
    return entries


def mxmoat_conf(name):
    conf, section = {}, None
    for line in (DOCS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"\[(\w+)\]$", line)
        if m:
            section = conf.setdefault(m.group(1), {})
            continue
        k, _, v = line.partition("=")
        section[k.strip()] = v.strip()
    return conf


def message(subject, body):
    return (f"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n"
            f"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n"
            f"Subject: {subject}\r\n\r\n{body}\r\n").encode()


def exercise(host, port, sink):
    with smtplib.SMTP(host, port) as s:
        s.ehlo("client.example")
        assert s.sendmail("alice@example.org", ["bob@example.net"],
                          message("clean", "Lunch on Friday?")) == {}
    with smtplib.SMTP(host, port) as s:
        s.ehlo("client.example")
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("alice@example.org", ["bob@example.net"], message("gtube", GTUBE))
        assert e.value.smtp_code == 550
        assert e.value.smtp_error.startswith(b"5.7.1 Message rejected as spam [id=")
    got = sink.wait_messages(1, timeout=15)
    time.sleep(1)
    assert sink.count() == 1
    assert got[0].header("Subject") == "clean"
    assert got[0].header("X-Spam-Status").startswith("No, score=")
    return got[0]


def base(conf, listen, downstream):
    conf["server"]["listen"] = listen
    conf["server"]["client_name_lookup"] = "no"
    conf["server"]["hostname"] = "mx.mxmoat.test"
    conf["downstream"]["address"] = downstream
    conf["rules"] = {"paths": str(TOP / "rules")}
    return conf


def test_deployment_front_xclient(postfix_factory, mxmoatd_factory):
    (service, opts), = master_entries("front-xclient.master.cf")
    assert service == "127.0.0.1:10025" and "smtpd_authorized_xclient_hosts" in opts
    pf = postfix_factory(name="postfix", smtpd_options=opts, xclient_hosts="")
    mx_port = harness.free_port()
    conf = base(mxmoat_conf("front-xclient.mxmoat.conf"), f"127.0.0.1:{mx_port}",
                f"127.0.0.1:{pf.port}")
    md = mxmoatd_factory(conf)
    got = exercise("127.0.0.1", mx_port, pf.sink)
    # Postfix saw the real client through XCLIENT (its Received header)
    assert "from client.example (unknown [127.0.0.1])" in got.header("Received")
    assert md.wait_summaries(2)[-1]["action"] == "reject"


def test_deployment_proxy_filter(postfix_factory, mxmoatd_factory):
    entries = dict(master_entries("proxy-filter.master.cf"))
    before, after = entries["smtp"], entries["127.0.0.1:10025"]
    mx_port, after_port = harness.free_port(), harness.free_port()
    before = dict(before, smtpd_proxy_filter=f"127.0.0.1:{mx_port}")
    after_lines = [f"127.0.0.1:{after_port} inet n - n - - smtpd"] + \
        [f"    -o {k}={v}" for k, v in after.items()]
    pf = postfix_factory(name="postfix", smtpd_options=before, master_cf=after_lines,
                         xforward_hosts="")
    conf = base(mxmoat_conf("proxy-filter.mxmoat.conf"), f"127.0.0.1:{mx_port}",
                f"127.0.0.1:{after_port}")
    md = mxmoatd_factory(conf)
    got = exercise(pf.host, pf.port, pf.sink)
    assert got.header("X-Spam-Status").startswith("No, score=")
    summaries = md.wait_summaries(2)
    assert [s["action"] for s in summaries] == ["accept", "reject"]
    # the client mxmoatd reports is the real one (XFORWARD from Postfix)
    assert summaries[0]["client"] == "127.0.0.1"
    pf.wait_log(r"orig_client=client\.example\[127\.0\.0\.1\]|client=localhost\[127\.0\.0\.1\]")


def main_cf_entries(name):
    """{parameter: value} of a main.cf snippet"""
    entries = {}
    for line in (DOCS / name).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        k, sep, v = line.partition("=")
        assert sep, line
        entries[k.strip()] = v.strip()
    return entries


def test_deployment_milter(postfix_factory, mxmoatd_factory):
    main_cf = main_cf_entries("milter.main.cf")
    assert main_cf["milter_default_action"] == "tempfail"
    milter_port = harness.free_port()
    assert main_cf["smtpd_milters"] == "inet:127.0.0.1:10026"
    main_cf["smtpd_milters"] = f"inet:127.0.0.1:{milter_port}"
    conf = mxmoat_conf("milter.mxmoat.conf")
    assert conf["server"]["listen"] == "" and conf["milter"]["listen"] == "inet:10026@127.0.0.1"
    conf["milter"]["listen"] = f"inet:{milter_port}@127.0.0.1"
    conf["server"]["hostname"] = "mx.mxmoat.test"
    conf["rules"] = {"paths": str(TOP / "rules")}
    conf.setdefault("http", {})["listen"] = ""
    md = mxmoatd_factory(conf)
    harness.wait_listening("127.0.0.1", milter_port, 15, alive=md.alive,
                           details=lambda: md.log_text()[-3000:])
    pf = postfix_factory(name="postfix", main_cf=main_cf)
    got = exercise(pf.host, pf.port, pf.sink)
    # the milter's fields are in the delivered message, once
    assert len(got.headers("X-Spam-Status")) == 1
    assert [s["action"] for s in md.wait_summaries(2)] == ["accept", "reject"]
    pf.wait_log(r"milter-reject: END-OF-MESSAGE .*5\.7\.1 Message rejected as spam \[id=")
    # mxmoatd gone: Postfix tempfails (milter_default_action), loses nothing
    md.stop()
    with smtplib.SMTP(pf.host, pf.port) as s:
        s.ehlo("client.example")
        with pytest.raises(smtplib.SMTPException) as e:
            s.sendmail("alice@example.org", ["bob@example.net"], message("down", "x"))
    codes = [c for c, _ in getattr(e.value, "recipients", {}).values()] or \
        [getattr(e.value, "smtp_code", 0)]
    assert all(400 <= c < 500 for c in codes), e.value
    time.sleep(1)
    assert pf.sink.count() == 1
