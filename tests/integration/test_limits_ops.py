"""Limits, timeouts, connection caps, XCLIENT/XFORWARD, reload, shutdown and
the command-line tools of mxmoatd: what an operator sees.

Each test starts its own mxmoatd in front of smtp-sink (or a private
Postfix), abuses the protocol on a raw socket (smtpraw.RawSmtp) or talks
with smtplib, and checks the exact reply code and enhanced code, what the
downstream received, and mxmoatd's log lines. Timeouts are set to 1-2 s so
the whole file runs in well under a minute.
"""

import os
import re
import signal
import smtplib
import socket
import subprocess
import time
from pathlib import Path

import pytest

import harness
from smtpraw import ID_CHARS, RawSmtp, ServerClosed

pytestmark = pytest.mark.root

HOSTNAME = "mx.limits.test"
ID = r"\[id=" + ID_CHARS + r"{13}\]"

BODY = (b"From: Alice <alice@example.org>\r\n"
        b"To: Bob <bob@example.net>\r\n"
        b"Subject: limits\r\n"
        b"\r\n"
        b"hello\r\n")


def build_dir() -> Path:
    return Path(os.environ.get("MXMOAT_TOP_BUILDDIR") or harness.REPO_ROOT)


def cli(*args, cwd=None, timeout=10):
    """Run build/mxmoat (args[0] == "mxmoat") or build/mxmoatd."""
    argv = [str(build_dir() / args[0]), *map(str, args[1:])]
    if not os.access(argv[0], os.X_OK):
        pytest.fail(f"{argv[0]} is not built")
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def config(**sections):
    """Test defaults (fixed hostname, no DNS) updated with sections."""
    conf = {
        "server": {"hostname": HOSTNAME, "client_name_lookup": False},
        "smtp": {},
        "daemon": {"shutdown_timeout": "5s"},
        # the proxy alone: no scanner, messages pass unchanged
        "rules": {"enabled": False},
    }
    for name, keys in sections.items():
        conf.setdefault(name, {}).update(keys)
    return conf


def own(reply, code, enh, text):
    """reply is mxmoatd's own error reply: code, enhanced code, text, id."""
    assert reply.code == code, str(reply)
    assert reply.enhanced == enh, str(reply)
    assert re.fullmatch(rf"{code} {re.escape(enh)} {re.escape(text)} {ID}", reply.first), \
        str(reply)


def greet(md, source=None, helo="client.example"):
    c = RawSmtp(md.host, md.port, timeout=5, source=source)
    assert c.greeting.code == 220, str(c.greeting)
    assert c.greeting.first == f"220 {HOSTNAME} ESMTP"
    c.ehlo(helo)
    return c


def deliver(c, rcpts=("bob@example.net",), body=BODY):
    r = c.transaction("alice@example.org", rcpts, body)
    assert r.code == 250, str(r)
    return r


def disconnect_line(md, reason, timeout=5):
    """The event=disconnect line with that reason, parsed."""
    m = md.wait_log(rf"^.*event=disconnect .*reason={reason}\b.*$", timeout)
    return harness.parse_kv(m.group(0))


def assert_sink_empty(md, sink, sessions_done=1):
    """Nothing reached the sink: wait until mxmoatd has logged the end of
    the sessions (its downstream connection is then being closed), then
    give smtp-sink a moment to finish any dump it might be writing."""
    harness.wait_until(lambda: md.log_count(r"event=disconnect ") >= sessions_done, 5,
                       what="disconnect lines")
    time.sleep(0.2)
    assert sink.count() == 0, [m.raw for m in sink.messages()]


# --- command-level errors -------------------------------------------------------


def test_line_too_long_then_session_still_works(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"max_line_length": 512}), downstream=sink)
    with greet(md) as c:
        # 512 octets with the CRLF: at the limit, accepted.
        line = b"NOOP " + b"x" * (512 - 5 - 2)
        assert len(line + b"\r\n") == 512
        r = c.cmd(line)
        assert (r.code, r.first) == (250, "250 2.0.0 Ok")
        # 513 octets: refused, and only after the end of the line.
        r = c.cmd(b"NOOP " + b"x" * (512 - 5 - 1))
        own(r, 500, "5.5.2", "Error: line too long")
        # An over-long MAIL is not executed: RCPT afterwards needs MAIL.
        r = c.cmd(b"MAIL FROM:<" + b"a" * 600 + b"@example.org>")
        own(r, 500, "5.5.2", "Error: line too long")
        own(c.cmd("RCPT TO:<bob@example.net>"), 503, "5.5.1", "Error: need MAIL command")
        # A line far beyond the input buffer bound, sent in one go: one
        # reply for the whole line, then the next command is read normally.
        c.send(b"NOOP " + b"y" * 200_000 + b"\r\nNOOP\r\n")
        own(c.reply(), 500, "5.5.2", "Error: line too long")
        assert c.reply().first == "250 2.0.0 Ok"
        deliver(c)
        assert c.cmd("QUIT").code == 221
    (m,) = sink.wait_messages(1)
    assert m.rcpts == ["bob@example.net"]
    assert m.data_crlf.endswith(BODY)
    assert md.log_count(r'reply="500 5\.5\.2 Error: line too long \[id=') == 3


def test_long_line_limit_above_input_buffer(sink, mxmoatd_factory):
    """max_line_length may be set above the 64 KiB of input a session
    buffers (bounds.h BOUND_PENDING_INPUT): a line under the configured
    limit is still read and answered, one over it refused."""
    md = mxmoatd_factory(config(smtp={"max_line_length": "128K", "command_timeout": "30s"},
                                daemon={"shutdown_timeout": "1s"}), downstream=sink)
    with greet(md) as c:
        try:
            r = c.cmd(b"NOOP " + b"x" * 70_000, timeout=5)
        except socket.timeout:
            pytest.fail("no reply within 5 s to a 70,005-octet NOOP line "
                        "(max_line_length = 128K)")
        assert r.first == "250 2.0.0 Ok", str(r)
        own(c.cmd(b"NOOP " + b"x" * 140_000, timeout=5), 500, "5.5.2",
            "Error: line too long")
        assert c.cmd("NOOP").first == "250 2.0.0 Ok"


def test_bad_syntax(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with greet(md) as c:
        own(c.cmd(b"NO\x00OP"), 500, "5.5.2", "Error: bad syntax")
        own(c.cmd(b"MAIL FROM:<a\x00@example.org>"), 500, "5.5.2", "Error: bad syntax")
        # the NUL line did not open a transaction
        own(c.cmd("RCPT TO:<bob@example.net>"), 503, "5.5.1", "Error: need MAIL command")
        assert c.cmd("NOOP").first == "250 2.0.0 Ok"
        deliver(c)
    assert len(sink.wait_messages(1)) == 1


def test_unknown_command(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with greet(md) as c:
        for verb in ("FOOBAR", "XYZZY arg", "MAILFROM <a@example.org>"):
            own(c.cmd(verb), 502, "5.5.2", "Error: command not recognized")
        assert c.cmd("NOOP").code == 250


# (STARTTLS without a certificate; BDAT is implemented: tests/test_bdat.py)
@pytest.mark.parametrize("line,text", [
    ("EXPN staff", "Error: command not implemented"),
    ("ETRN example.org", "Error: command not implemented"),
    ("STARTTLS", "Error: command not implemented"),
    # AUTH is passed through when the downstream offers it (test_auth.py);
    # this sink does not, so Postfix's own words for a server without SASL
    ("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "Error: authentication not enabled")])
def test_unimplemented_command(line, text, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with greet(md) as c:
        ehlo = c.cmd("EHLO client.example")
        for ext in ("STARTTLS", "AUTH", "ETRN"):
            assert not any(l.upper().startswith(ext) for l in ehlo.lines), str(ehlo)
        own(c.cmd(line), 502, "5.5.1", text)
        assert c.cmd("NOOP").first == "250 2.0.0 Ok"


def test_vrfy_help_noop_are_not_errors(sink, mxmoatd_factory):
    # max_errors = 2: if any of these counted as an error, the session
    # would be closed during the loop.
    md = mxmoatd_factory(config(smtp={"max_errors": 2}), downstream=sink)
    with greet(md) as c:
        for _ in range(3):
            r = c.cmd("VRFY bob@example.net")
            assert r.code == 252 and r.enhanced == "2.0.0" and not r.has_id, str(r)
            r = c.cmd("HELP")
            assert r.code == 214 and not r.has_id, str(r)
            r = c.cmd("NOOP")
            assert r.first == "250 2.0.0 Ok"
        deliver(c)
        assert c.cmd("QUIT").code == 221
    assert disconnect_line(md, "quit")["errors"] == "0"
    assert len(sink.wait_messages(1)) == 1


def test_max_errors_closes_session(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"max_errors": 3}), downstream=sink)
    with greet(md) as c:
        own(c.cmd("FOO1"), 502, "5.5.2", "Error: command not recognized")
        own(c.cmd("RCPT TO:<bob@example.net>"), 503, "5.5.1", "Error: need MAIL command")
        # the third error: its reply, then 421 and the connection closes
        own(c.cmd("FOO3"), 502, "5.5.2", "Error: command not recognized")
        own(c.reply(), 421, "4.7.0", f"{HOSTNAME} Error: too many errors")
        assert c.wait_closed(5)
    d = disconnect_line(md, "too_many_errors")
    assert d["errors"] == "3"
    assert d["client"] == "127.0.0.1"
    assert_sink_empty(md, sink)


def test_max_errors_counts_downstream_rejections(sink_factory, mxmoatd_factory):
    """Errors the downstream returns (relayed unchanged) count too."""
    sink = sink_factory(["-f", "RCPT"])
    md = mxmoatd_factory(config(smtp={"max_errors": 3}), downstream=sink)
    with greet(md) as c:
        assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
        replies = [c.cmd(f"RCPT TO:<r{i}@example.net>") for i in range(3)]
        for r in replies:
            # smtp-sink's own reply, passed through unchanged (no [id=...])
            assert r.first == "500 5.3.0 Error: command failed", str(r)
        own(c.reply(), 421, "4.7.0", f"{HOSTNAME} Error: too many errors")
        assert c.wait_closed(5)
    assert disconnect_line(md, "too_many_errors")["errors"] == "3"


# --- timeouts -------------------------------------------------------------------


def test_command_timeout_idle_session(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"command_timeout": "1s"}), downstream=sink)
    with greet(md) as c:
        t0 = time.monotonic()
        r = c.reply(timeout=5)
        waited = time.monotonic() - t0
        own(r, 421, "4.4.2", f"{HOSTNAME} Error: timeout exceeded")
        assert waited >= 0.8, waited
        assert c.wait_closed(5)
    disconnect_line(md, "command_timeout")


@pytest.mark.parametrize("after", ["rcpt", "delivery"])
def test_command_timeout_after_relayed_command(after, sink, mxmoatd_factory):
    """A client that goes quiet after a command mxmoatd relayed to the
    downstream (RCPT in an open transaction, or the end of a delivered
    message) is cut off like an idle one."""
    md = mxmoatd_factory(config(smtp={"command_timeout": "1s"}), downstream=sink)
    with greet(md) as c:
        if after == "rcpt":
            assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
            assert c.cmd("RCPT TO:<bob@example.net>").code == 250
        else:
            deliver(c)
        try:
            r = c.reply(timeout=5)
        except socket.timeout:
            pytest.fail(f"no 421 4.4.2 within 5 s of idling after {after} "
                        "(command_timeout = 1s)")
        own(r, 421, "4.4.2", f"{HOSTNAME} Error: timeout exceeded")
        assert c.wait_closed(5)
    disconnect_line(md, "command_timeout")
    (s,) = md.summary_lines()
    if after == "rcpt":
        assert (s["action"], s["reason"]) == ("abort", "command_timeout")
        assert_sink_empty(md, sink)
    else:
        assert s["action"] == "accept"
        assert len(sink.wait_messages(1)) == 1


def test_data_timeout_stalled_client(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"data_timeout": "1s", "command_timeout": "10s"}),
                         downstream=sink)
    with greet(md) as c:
        assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
        assert c.cmd("RCPT TO:<bob@example.net>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: stalled\r\n\r\nfirst half of the bo")
        t0 = time.monotonic()
        r = c.reply(timeout=5)
        waited = time.monotonic() - t0
        own(r, 421, "4.4.2", f"{HOSTNAME} Error: timeout exceeded")
        assert waited >= 0.8, waited
        assert c.wait_closed(5)
    disconnect_line(md, "data_timeout")
    (s,) = md.summary_lines()
    assert (s["action"], s["reason"]) == ("abort", "data_timeout")
    assert s["downstream_id"] == ""
    assert_sink_empty(md, sink)


RATE_CONF = {"data_timeout": "2s", "min_data_rate": 1000, "command_timeout": "10s"}


def test_min_data_rate_trickling_client_cut_off(sink, mxmoatd_factory):
    """20 bytes every 0.5 s (40 B/s) against min_data_rate 1000: the client
    is never idle for data_timeout (2 s), yet it is cut off once its
    deadline (2 s + 20 ms per 20 bytes) has passed."""
    md = mxmoatd_factory(config(smtp=RATE_CONF), downstream=sink)
    with greet(md) as c:
        assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
        assert c.cmd("RCPT TO:<bob@example.net>").code == 250
        assert c.cmd("DATA").code == 354
        t0 = time.monotonic()
        reply = None
        for i in range(14):  # 7 s of trickling at most
            chunk = b"X-Trickle: %07d\r\n" % i
            assert len(chunk) == 20
            try:
                c.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed after its 421: read it below
            try:
                reply = c.reply(timeout=0.5)
                break
            except socket.timeout:
                continue
            except ServerClosed as e:
                pytest.fail(f"closed without a reply: {e.partial!r}")
        cut_after = time.monotonic() - t0
        assert reply is not None, "a 40 B/s client was not cut off within 7 s"
        own(reply, 421, "4.4.2", f"{HOSTNAME} Error: timeout exceeded")
        # the deadline starts at data_timeout: not cut before that
        assert cut_after >= 1.8, cut_after
        assert c.wait_closed(5)
    disconnect_line(md, "data_timeout")
    assert md.summary_lines()[-1]["action"] == "abort"
    assert_sink_empty(md, sink)


def test_min_data_rate_fast_client_is_fine(sink, mxmoatd_factory):
    """Same settings: 200 KB at once, a 1 s pause (under data_timeout), the
    rest: delivered whole."""
    md = mxmoatd_factory(config(smtp=RATE_CONF), downstream=sink)
    line = b"0123456789" * 7 + b"\r\n"
    part = line * 2800  # ~200 KB
    body = b"Subject: fast\r\n\r\n" + part + b"after the pause\r\n"
    with greet(md) as c:
        assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
        assert c.cmd("RCPT TO:<bob@example.net>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: fast\r\n\r\n" + part)
        time.sleep(1.0)
        c.send(b"after the pause\r\n.\r\n")
        r = c.reply(timeout=10)
        assert r.code == 250, str(r)
        assert c.cmd("QUIT").code == 221
    (m,) = sink.wait_messages(1)
    assert m.data_crlf.endswith(body)
    s = md.summary_lines()[-1]
    assert s["action"] == "accept"
    assert int(s["size"]) == len(body)


# --- connection limits ------------------------------------------------------------


def refused(md, source, text):
    """Connect from source: the reply is 421 4.7.0 <text> and a close."""
    c = RawSmtp(md.host, md.port, timeout=5, source=source)
    try:
        own(c.greeting, 421, "4.7.0", f"{HOSTNAME} Error: {text}")
        assert c.wait_closed(5)
    finally:
        c.close()


def accepted_again(md, source):
    """Poll until a new connection from source is greeted (a closed
    session is freed at the end of the daemon's loop iteration)."""

    def attempt():
        c = RawSmtp(md.host, md.port, timeout=5, source=source)
        if c.greeting.code == 220:
            return c
        c.close()
        return None

    return harness.wait_until(attempt, 5, interval=0.1, what=f"a session from {source}")


def test_max_connections_per_ip(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(server={"max_connections_per_ip": 2,
                                        "max_connections": 100}), downstream=sink)
    c1 = greet(md)
    c2 = greet(md)
    refused(md, "127.0.0.1", "too many connections from your address")
    md.wait_log(r'event=refused client=127\.0\.0\.1 reason="too many connections '
                r'from your address"')
    # another address is not affected
    c4 = greet(md, source="127.0.0.2")
    for c in (c1, c2, c4):
        deliver(c)
    assert c1.cmd("QUIT").code == 221
    c1.close()
    # the slot of the closed session is free again
    c5 = accepted_again(md, "127.0.0.1")
    c5.ehlo()
    deliver(c5)
    for c in (c2, c4, c5):
        c.close()
    assert len(sink.wait_messages(4)) == 4
    assert md.log_count(r"event=refused ") == 1


def test_max_connections(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(server={"max_connections": 2,
                                        "max_connections_per_ip": 0}), downstream=sink)
    c1 = greet(md, source="127.0.0.1")
    c2 = greet(md, source="127.0.0.2")
    refused(md, "127.0.0.3", "too many connections")
    md.wait_log(r'event=refused client=127\.0\.0\.3 reason="too many connections"')
    for c in (c1, c2):
        deliver(c)
    assert c2.cmd("QUIT").code == 221
    c2.close()
    c3 = accepted_again(md, "127.0.0.3")
    c3.ehlo()
    deliver(c3)
    c1.close()
    c3.close()
    assert len(sink.wait_messages(3)) == 3


# --- XCLIENT / XFORWARD from clients --------------------------------------------


def test_client_xclient_refused(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    with greet(md) as c:
        ehlo = c.cmd("EHLO client.example")
        assert not any(l.upper().startswith(("XCLIENT", "XFORWARD")) for l in ehlo.lines)
        own(c.cmd("XCLIENT ADDR=192.0.2.1 NAME=spoofed.example"), 550, "5.7.0",
            "Error: insufficient authorization")
        qid = harness.queue_id(deliver(c).first)
    # Postfix saw the real client (through mxmoatd's own XCLIENT; no name
    # lookup in these tests), not the one the client claimed
    postfix.wait_log(rf"\b{qid}: client=unknown\[127\.0\.0\.1\]$")
    assert "spoofed" not in postfix.log_text() and "192.0.2.1" not in postfix.log_text()
    assert md.wait_summaries(1)[-1]["client"] == "127.0.0.1"


def test_client_xforward_refused_when_not_authorized(sink, mxmoatd_factory):
    # authorized: some other network only
    md = mxmoatd_factory(config(server={"xforward_from": "192.0.2.0/24"}), downstream=sink)
    with greet(md) as c:
        ehlo = c.cmd("EHLO client.example")
        assert not any(l.upper().startswith("XFORWARD") for l in ehlo.lines), str(ehlo)
        own(c.cmd("XFORWARD NAME=upstream.example.net ADDR=192.0.2.44"), 550, "5.7.0",
            "Error: insufficient authorization")
        deliver(c)
    assert len(sink.wait_messages(1)) == 1
    # the refused attributes were not taken over
    assert md.wait_summaries(1)[-1]["client"] == "127.0.0.1"


def xforward_session(md, helo="upstream-helo.example.net"):
    """An authorized upstream: XCLIENT refused, XFORWARD accepted, one
    message delivered; returns the downstream's queue id."""
    with greet(md, helo="relay.example.net") as c:
        ehlo = c.cmd("EHLO relay.example.net")
        assert "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE" in ehlo.lines, str(ehlo)
        # XCLIENT stays refused, also to a client trusted with XFORWARD
        own(c.cmd("XCLIENT ADDR=192.0.2.9"), 550, "5.7.0",
            "Error: insufficient authorization")
        r = c.cmd("XFORWARD NAME=upstream.example.net ADDR=192.0.2.44")
        assert r.first == "250 2.0.0 Ok", str(r)
        r = c.cmd(f"XFORWARD PROTO=ESMTP HELO={helo}")
        assert r.first == "250 2.0.0 Ok", str(r)
        r = deliver(c, rcpts=("bob@example.net",))
        qid = harness.queue_id(r.first)
        assert qid, str(r)
    return qid


def test_client_xforward_passed_to_postfix_as_xforward(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(server={"xforward_from": "127.0.0.0/8"},
                                downstream={"forward": "xforward"}), downstream=postfix)
    qid = xforward_session(md)
    # Postfix 3.7 logs an XFORWARD client as orig_client= next to the
    # connection's own client=
    postfix.wait_log(rf"\b{qid}: client=\S+\[127\.0\.0\.1\], "
                     r"orig_client=upstream\.example\.net\[192\.0\.2\.44\]$")
    (m,) = postfix.sink.wait_messages(1)
    assert m.rcpts == ["bob@example.net"]
    s = md.summary_lines()[-1]
    assert (s["client"], s["downstream_id"]) == ("192.0.2.44", qid)


def test_client_xforward_passed_to_postfix_as_xclient(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(server={"xforward_from": "127.0.0.0/8"},
                                downstream={"forward": "xclient"}), downstream=postfix)
    qid = xforward_session(md)
    postfix.wait_log(rf"\b{qid}: client=upstream\.example\.net\[192\.0\.2\.44\]$")
    (m,) = postfix.sink.wait_messages(1)
    assert m.rcpts == ["bob@example.net"]
    assert "(upstream.example.net [192.0.2.44])" in m.header("Received")
    s = md.summary_lines()[-1]
    assert (s["client"], s["downstream_id"]) == ("192.0.2.44", qid)


def test_client_xforward_helo_passed_to_postfix_as_xclient(postfix, mxmoatd_factory):
    """The HELO name an authorized upstream forwards is the one Postfix
    records (Received: from <helo>), not the upstream's own EHLO name."""
    md = mxmoatd_factory(config(server={"xforward_from": "127.0.0.0/8"},
                                downstream={"forward": "xclient"}), downstream=postfix)
    xforward_session(md, helo="upstream-helo.example.net")
    (m,) = postfix.sink.wait_messages(1)
    received = m.header("Received")
    assert received.startswith(
        "from upstream-helo.example.net (upstream.example.net [192.0.2.44])"), received


# --- reload -----------------------------------------------------------------------


def rcpt_limit(md, n=3):
    """A new session with an ordinary client (smtplib): MAIL and n RCPTs;
    the list of RCPT reply codes."""
    with smtplib.SMTP(md.host, md.port, local_hostname="client.example", timeout=5) as s:
        s.ehlo()
        assert s.mail("alice@example.org")[0] == 250
        codes = []
        for i in range(n):
            code, text = s.rcpt(f"r{i}@example.net")
            if code == 452:
                assert re.fullmatch(rf"4\.5\.3 Error: too many recipients {ID}",
                                    text.decode()), text
            codes.append(code)
        assert s.rset()[0] == 250
    return codes


def test_reload_applies_to_new_sessions_only(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"max_recipients": 1000}), downstream=sink)
    old = greet(md)
    md.config["smtp"]["max_recipients"] = 2
    md.reload(wait_for=r"event=reload status=ok")
    new = greet(md)
    with old, new:
        # the session opened after the reload: the new limit
        assert new.cmd("MAIL FROM:<alice@example.org>").code == 250
        assert new.cmd("RCPT TO:<n1@example.net>").code == 250
        assert new.cmd("RCPT TO:<n2@example.net>").code == 250
        own(new.cmd("RCPT TO:<n3@example.net>"), 452, "4.5.3", "Error: too many recipients")
        # the session opened before it: still 1000
        assert old.cmd("MAIL FROM:<alice@example.org>").code == 250
        for i in range(1, 4):
            r = old.cmd(f"RCPT TO:<o{i}@example.net>")
            assert r.code == 250, str(r)
        for c in (new, old):
            assert c.cmd("DATA").code == 354
            c.send(BODY + b".\r\n")
            assert c.reply().code == 250
    msgs = sink.wait_messages(2)
    assert sorted(m.rcpts for m in msgs) == [
        ["n1@example.net", "n2@example.net"],
        ["o1@example.net", "o2@example.net", "o3@example.net"]]


def test_reload_invalid_file_keeps_old_config(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"max_recipients": 2}), downstream=sink)
    assert rcpt_limit(md) == [250, 250, 452]
    md.config["smtp"]["max_recipients"] = 1000
    md.config["smtp"]["max_mesage_size"] = "10M"  # typo: unknown key
    md.reload(wait_for=r"event=reload status=failed")
    line = md.wait_log(r"^.*event=reload status=failed.*$").group(0)
    kv = harness.parse_kv(line)
    assert re.fullmatch(rf"{re.escape(str(md.conf_path))}:\d+: unknown key "
                        r'"max_mesage_size" in \[smtp\]', kv["error"]), line
    assert kv["action"] == "keeping the old configuration"
    assert md.alive()
    # the old limit still applies to new sessions, and the daemon serves
    assert rcpt_limit(md) == [250, 250, 452]
    with smtplib.SMTP(md.host, md.port, local_hostname="client.example", timeout=5) as s:
        refused = s.sendmail("alice@example.org", ["a@example.net", "b@example.net",
                                                   "c@example.net"], BODY)
    assert list(refused) == ["c@example.net"] and refused["c@example.net"][0] == 452
    (m,) = sink.wait_messages(1)
    assert m.rcpts == ["a@example.net", "b@example.net"]
    # fixed file: the next reload works
    del md.config["smtp"]["max_mesage_size"]
    md.reload(wait_for=r"event=reload status=ok")
    assert rcpt_limit(md) == [250, 250, 250]


def test_mxmoat_reload_via_pidfile(sink, mxmoatd_factory, tmp_path):
    pidfile = tmp_path / "mxmoatd.pid"
    md = mxmoatd_factory(config(smtp={"max_recipients": 2},
                                daemon={"pidfile": str(pidfile)}), downstream=sink)
    harness.wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 5,
                       what="the pidfile")
    assert pidfile.read_text() == f"{md.pid}\n"
    md.config["smtp"]["max_recipients"] = 5
    md.write_config()
    mark = md.log_mark()
    r = cli("mxmoat", "reload", "-c", md.conf_path)
    assert r.returncode == 0, r.stderr
    assert f"pid {md.pid}" in r.stdout
    md.wait_log(rf"event=reload status=ok .*path={re.escape(str(md.conf_path))}", since=mark)
    assert rcpt_limit(md) == [250, 250, 250]
    assert md.stop() == 0
    # removed at exit when the daemon may (as root it drops to [daemon]
    # user, who cannot unlink a file in root's directory)
    if os.geteuid() != 0:
        assert not pidfile.exists()


def test_mxmoat_reload_errors(tmp_path):
    conf = tmp_path / "m.conf"
    conf.write_text("[daemon]\nshutdown_timeout = 1s\n")
    r = cli("mxmoat", "reload", "-c", conf)
    assert r.returncode == 1
    assert "[daemon] pidfile is not set" in r.stderr
    conf.write_text(f"[daemon]\npidfile = {tmp_path / 'none.pid'}\n")
    r = cli("mxmoat", "reload", "-c", conf)
    assert r.returncode == 1
    assert f"cannot read {tmp_path / 'none.pid'}" in r.stderr


# --- shutdown ---------------------------------------------------------------------


def finish_then_shutdown(c, body_rest):
    """c is mid-transaction during shutdown: it finishes and gets its 250,
    then 421 4.3.2 (at once, or at the latest at its next command)."""
    c.send(body_rest + b".\r\n")
    r = c.reply(timeout=5)
    assert r.code == 250, str(r)
    try:
        r = c.reply(timeout=1)
    except socket.timeout:
        r = c.cmd("NOOP")
    own(r, 421, "4.3.2", f"{HOSTNAME} Service shutting down")
    assert c.wait_closed(5)


def test_sigterm_drains_sessions(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(daemon={"shutdown_timeout": "10s"}), downstream=sink)
    idle = greet(md)
    in_data = greet(md)
    assert in_data.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert in_data.cmd("RCPT TO:<bob@example.net>").code == 250
    assert in_data.cmd("DATA").code == 354
    in_data.send(BODY[:40])
    after_rcpt = greet(md)
    assert after_rcpt.cmd("MAIL FROM:<carol@example.org>").code == 250
    assert after_rcpt.cmd("RCPT TO:<dave@example.net>").code == 250
    time.sleep(0.1)  # let the daemon read the partial DATA
    os.kill(md.pid, signal.SIGTERM)
    with idle, in_data, after_rcpt:
        # the idle session is told at once and closed
        own(idle.reply(timeout=5), 421, "4.3.2", f"{HOSTNAME} Service shutting down")
        assert idle.wait_closed(5)
        # the listener is gone: new connections are refused
        harness.wait_until(lambda: not harness.is_listening(md.host, md.port), 5,
                           what="the listener to close")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((md.host, md.port), timeout=2).close()
        assert md.alive()  # still waiting for the two transactions
        # both transactions in progress finish and are delivered
        finish_then_shutdown(in_data, BODY[40:])
        assert md.alive()
        assert after_rcpt.cmd("DATA").code == 354
        finish_then_shutdown(after_rcpt, BODY)
    assert md.proc.wait(5) == 0
    assert md.stop() == 0
    msgs = sink.wait_messages(2)
    assert sorted(m.mail_from for m in msgs) == ["alice@example.org", "carol@example.org"]
    assert all(m.data_crlf.endswith(BODY) for m in msgs)
    assert [s["action"] for s in md.summary_lines()] == ["accept", "accept"]
    assert md.log_count(r"event=shutdown_deadline") == 0
    assert md.log_count(r"event=disconnect .*reason=shutdown\b") == 3
    md.wait_log(r"event=stop")


def test_sigterm_shutdown_timeout_cuts_stuck_transactions(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"data_timeout": "30s", "command_timeout": "30s"},
                                daemon={"shutdown_timeout": "1s"}), downstream=sink)
    in_data = greet(md)
    assert in_data.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert in_data.cmd("RCPT TO:<bob@example.net>").code == 250
    assert in_data.cmd("DATA").code == 354
    in_data.send(b"Subject: stuck\r\n\r\nnever finished")
    after_rcpt = greet(md)
    assert after_rcpt.cmd("MAIL FROM:<carol@example.org>").code == 250
    assert after_rcpt.cmd("RCPT TO:<dave@example.net>").code == 250
    time.sleep(0.1)
    t0 = time.monotonic()
    os.kill(md.pid, signal.SIGTERM)
    with in_data, after_rcpt:
        for c in (in_data, after_rcpt):
            own(c.reply(timeout=5), 421, "4.3.2", f"{HOSTNAME} Service shutting down")
            assert c.wait_closed(5)
        assert time.monotonic() - t0 >= 0.8
    assert md.proc.wait(5) == 0
    assert md.stop() == 0
    md.wait_log(r"event=shutdown_deadline sessions=2")
    assert sorted((s["action"], s["reason"]) for s in md.summary_lines()) == \
        [("abort", "shutdown_deadline")] * 2
    time.sleep(0.2)
    assert sink.count() == 0


# --- command-line tools -----------------------------------------------------------


def test_mxmoat_config_prints_effective_config(tmp_path):
    conf = tmp_path / "t.conf"
    conf.write_text("[smtp]\nmax_message_size = 10M\ncommand_timeout = 1500ms\n\n"
                    "[server]\nhostname = mx.example.net\n"
                    "xforward_from = 192.0.2.0/24\n")
    r = cli("mxmoat", "config", "-c", conf)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for want in ("max_message_size = 10M", "command_timeout = 1500ms",
                 "hostname = mx.example.net", "xforward_from = 192.0.2.0/24",
                 "max_recipients = 1000", "max_line_length = 2K", "[downstream]"):
        assert want in lines, r.stdout
    # the output is a configuration file that loads to the same thing
    again = tmp_path / "again.conf"
    again.write_text(r.stdout)
    r2 = cli("mxmoat", "config", "-c", again)
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout.splitlines()[1:] == lines[1:]
    r3 = cli("mxmoatd", "-t", "-c", again)
    assert r3.returncode == 0, r3.stderr


@pytest.mark.parametrize("text,lineno,message", [
    ("[smtp]\nmax_mesage_size = 10M\n", 2, 'unknown key "max_mesage_size" in [smtp]'),
    ("[smtp]\nmax_errors = 3\ncommand_timeout = soon\n", 3,
     'command_timeout: expected a duration'),
    ("[smtp]\nmax_message_size = lots\n", 2, "max_message_size: expected a size"),
    ("# comment\n[smpt]\n", 2, "unknown section [smpt]"),
    ("[downstream]\nforward = carrier-pigeon\n", 2, "forward: expected one of"),
    ("[smtp]\nmax_errors = 3\nmax_errors = 4\n", 3, "[smtp] max_errors is set twice"),
])
def test_mxmoat_config_errors(text, lineno, message, tmp_path):
    (tmp_path / "t.conf").write_text(text)
    r = cli("mxmoat", "config", "-c", "t.conf", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith(f"mxmoat: t.conf:{lineno}: {message}"), r.stderr
    assert r.stderr.count("\n") == 1


def test_mxmoatd_check_config(tmp_path):
    port = harness.free_port()
    good = tmp_path / "good.conf"
    good.write_text(f"[server]\nlisten = 127.0.0.1:{port}\n[smtp]\nmax_errors = 5\n")
    r = cli("mxmoatd", "-t", "-c", good)
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout
    assert not harness.is_listening("127.0.0.1", port)

    bad = tmp_path / "bad.conf"
    bad.write_text(f"[server]\nlisten = 127.0.0.1:{port}\n[smtp]\n"
                   "max_errors = 5\nmax_mesage_size = 1M\n")
    r = cli("mxmoatd", "-t", "-c", "bad.conf", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == 'mxmoatd: bad.conf:5: unknown key "max_mesage_size" in [smtp]\n'

    # a value that parses but is out of range (RFC 5321 minimum)
    short = tmp_path / "short.conf"
    short.write_text("[smtp]\nmax_line_length = 100\n")
    r = cli("mxmoatd", "-t", "-c", short)
    assert r.returncode == 1
    assert "max_line_length" in r.stderr and "512" in r.stderr

    r = cli("mxmoatd", "-t", "-c", tmp_path / "missing.conf")
    assert r.returncode == 1
    assert "missing.conf" in r.stderr
