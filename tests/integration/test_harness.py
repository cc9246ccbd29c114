"""Tests of the harness itself, and anchors for everything built on it.

If one of these fails, the failure of a mxmoat test says nothing about
mxmoat: the tools (smtp-sink, Postfix, smtplib) or the harness are off.
"""

import os
import re
import signal
import smtplib
import socket
import sys
import textwrap
import time

import pytest

import harness

pytestmark = pytest.mark.root

# CRLF only, so that the dump can be compared byte for byte. Lines starting
# with "." (smtplib stuffs them, smtp-sink unstuffs them), a line that is
# just ".", 8-bit text and a line longer than 998 octets.
MESSAGE = (
    b"From: Alice <a@example.org>\r\n"
    b"To: Bob <b@example.com>\r\n"
    b"Subject: harness anchor\r\n"
    b"Message-ID: <anchor.1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"first line\r\n"
    b".leading dot\r\n"
    b"..two dots\r\n"
    b".\r\n"
    b"caf\xc3\xa9 \xe2\x82\xac\r\n"
    + b"x" * 1500 + b"\r\n"
    b"\r\n"
    b"last line\r\n"
)


class RawSmtp:
    """A minimal SMTP client on a socket: send exact bytes, read replies."""

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self):
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError(f"connection closed after {lines!r}")
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return int(line[:3]), b"\n".join(lines)

    def cmd(self, data):
        self.sock.sendall(data if data.endswith(b"\n") else data + b"\r\n")
        return self.reply()

    def close(self):
        self.file.close()
        self.sock.close()


# --- basics -------------------------------------------------------------------


def test_free_port_is_unique_and_bindable():
    ports = [harness.free_port() for _ in range(20)]
    assert len(set(ports)) == len(ports)
    for port in ports[:3]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
            s.listen(1)
            assert harness.is_listening("127.0.0.1", port)
        assert not harness.is_listening("127.0.0.1", port)


def test_wait_port_times_out():
    port = harness.free_port()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        harness.wait_port("127.0.0.1", port, timeout=0.3)
    assert time.monotonic() - t0 < 3


def test_proc_log_wait_and_stop_status(tmp_path):
    script = textwrap.dedent("""\
        import signal, sys, time
        def term(*a):
            print("got TERM", flush=True); sys.exit(3)
        signal.signal(signal.SIGTERM, term)
        print("ready pid", flush=True)
        while True:
            time.sleep(0.05)
        """)
    with harness.Proc([sys.executable, "-c", script], tmp_path / "p.log") as p:
        m = p.wait_log(r"^ready (\w+)$", timeout=10)
        assert m.group(1) == "pid"
        assert p.alive()
        mark = p.log_mark()
        with pytest.raises(TimeoutError, match="log tail"):
            p.wait_log("never printed", timeout=0.2, since=mark)
        assert p.stop() == 3
    assert "got TERM" in p.log_text()
    assert not harness.pid_alive(p.pid)


def test_proc_sigkill_fallback_and_children(tmp_path):
    # The shell ignores SIGTERM and leaves a child behind: stop() must kill
    # it with SIGKILL and take the child (same session) along.
    p = harness.Proc(["/bin/sh", "-c", "trap '' TERM; sleep 30 & echo child $!; wait"],
                     tmp_path / "sh.log").start()
    child = int(p.wait_log(r"child (\d+)").group(1))
    assert harness.pid_alive(child)
    t0 = time.monotonic()
    assert p.stop(timeout=0.5) == -signal.SIGKILL
    assert time.monotonic() - t0 < 5
    assert not harness.pid_alive(child)


def test_wait_log_fails_fast_when_process_dies(tmp_path):
    p = harness.Proc(["/bin/sh", "-c", "echo bye; exit 7"], tmp_path / "x.log").start()
    with pytest.raises(RuntimeError, match="process exited"):
        p.wait_log("hello", timeout=10)
    assert p.stop() == 7


def test_parse_kv_and_queue_id():
    line = ('2026-12-01T18:00:00Z mxmoatd[1]: sid=4f2a id=9c1 client=192.0.2.7 '
            'from=<a@example.org> rcpts=2 size=1234 action=reject score=7.5 '
            'symbols="BAYES_99,URI \\"X\\"" reason="" ms=12')
    kv = harness.parse_kv(line)
    assert kv["action"] == "reject"
    assert kv["from"] == "<a@example.org>"
    assert kv["symbols"] == 'BAYES_99,URI "X"'
    assert kv["reason"] == ""
    assert kv["ms"] == "12"
    assert harness.queue_id(b"2.0.0 Ok: queued as 4Qx2Lk1ZbXz9") == "4Qx2Lk1ZbXz9"
    assert harness.queue_id("250 2.0.0 Ok") is None


# --- smtp-sink ----------------------------------------------------------------


def test_smtplib_to_sink_exact_message(sink):
    with smtplib.SMTP(sink.host, sink.port, local_hostname="client.example") as s:
        refused = s.sendmail("a@example.org", ["b@example.com", "c@example.net"], MESSAGE,
                             mail_options=["BODY=8BITMIME"], rcpt_options=["NOTIFY=NEVER"])
        assert refused == {}
    (m,) = sink.wait_messages(1)
    assert m.data_crlf == MESSAGE
    assert m.client_addr == "127.0.0.1"
    assert m.client_proto == "ESMTP"
    assert m.helo == "client.example"
    assert m.mail_from == "a@example.org"
    assert m.mail_args == "<a@example.org> BODY=8BITMIME"  # smtp-sink offers no SIZE
    assert m.rcpt_args == ["<b@example.com> NOTIFY=NEVER", "<c@example.net> NOTIFY=NEVER"]
    assert m.rcpts == ["b@example.com", "c@example.net"]
    assert m.header("Subject") == "harness anchor"
    assert m.received.startswith("Received: from client.example ([127.0.0.1])\n\tby ")
    assert f" id {m.id};" in m.received
    assert m.raw.startswith(b"X-Client-Addr: 127.0.0.1\n")
    assert m.raw.endswith(m.data + b"\n")
    assert sink.count() == 1


def test_sink_dump_line_endings_and_dots(sink):
    """The facts SmtpSink's docstring states about the dump format."""
    c = RawSmtp(sink.host, sink.port)
    assert c.cmd(b"HELO raw.example")[0] == 250
    assert c.cmd(b"MAIL FROM:<>")[0] == 250
    assert c.cmd(b"RCPT TO:<x@example.com>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    code, _ = c.cmd(b".first\r\n"          # dot after DATA's CRLF: dropped
                    b"crlf\r\n"
                    b"bare\n.kept\r\n"     # bare LF stays; a dot after it stays
                    b"cr\ronly\r\n"        # a bare CR vanishes
                    b"..two\r\n"           # unstuffed
                    b".\r\n")
    assert code == 250
    c.cmd(b"QUIT")
    c.close()
    (m,) = sink.wait_messages(1)
    assert m.client_proto == "SMTP"
    assert m.mail_args == "<>" and m.mail_from == ""
    assert m.data == b"first\ncrlf\nbare\n.kept\ncronly\n.two\n"
    assert m.raw.endswith(b"\n.two\n\n")


def test_sink_ignores_transactions_in_progress_and_aborted(sink):
    c = RawSmtp(sink.host, sink.port)
    c.cmd(b"EHLO raw.example")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<b@example.com>")
    assert c.cmd(b"DATA")[0] == 354
    c.sock.sendall(b"Subject: half\r\n\r\nhalf a message\r\n")
    time.sleep(0.2)
    assert len(os.listdir(sink.dump_dir)) == 1  # the file exists ...
    assert sink.count() == 0                    # ... but is not finished
    assert c.cmd(b".")[0] == 250
    assert sink.count() == 1
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<b@example.com>")
    assert c.cmd(b"RSET")[0] == 250             # RSET deletes its dump
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.close()                                   # so does a disconnect
    time.sleep(0.2)
    assert [m.header("Subject") for m in sink.messages()] == ["half"]
    assert len(os.listdir(sink.dump_dir)) == 1


def test_sink_options_pass_through(sink_factory):
    sink = sink_factory(["-f", "RCPT", "-E", "-8"])
    with smtplib.SMTP(sink.host, sink.port) as s:
        s.ehlo()
        assert not s.has_extn("enhancedstatuscodes")
        assert not s.has_extn("8bitmime")
        assert not s.has_extn("pipelining")  # -f implies -p
        s.mail("a@example.org")
        assert s.rcpt("b@example.com") == (500, b"5.3.0 Error: command failed")


def test_sink_keeps_dump_of_message_rejected_at_dot(sink_factory):
    """Pitfall: with -r/-f/-q/-Q for ".", the dump is written anyway."""
    sink = sink_factory(["-r", "."])
    with smtplib.SMTP(sink.host, sink.port) as s:
        s.mail("a@example.org")
        s.rcpt("b@example.com")
        assert s.data(b"Subject: refused\r\n\r\nx\r\n") == (450, b"4.3.0 Error: command failed")
    (m,) = sink.wait_messages(1)
    assert m.header("Subject") == "refused"


def test_sink_on_ipv6_loopback(sink_factory):
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    sink = sink_factory(host="::1")
    with smtplib.SMTP("::1", sink.port) as s:
        s.sendmail("a@example.org", ["b@example.com"], b"Subject: v6\r\n\r\nx\r\n")
    (m,) = sink.wait_messages(1)
    assert m.client_addr == "ipv6:::1"


# --- private Postfix ----------------------------------------------------------


def _send(pf, rcpts, body=b"Subject: test\r\n\r\nhello\r\n", sender="a@example.org",
          helo="client.example"):
    """Send one message to pf with smtplib; return Postfix's queue id."""
    with smtplib.SMTP(pf.host, pf.port, local_hostname=helo) as s:
        s.ehlo()
        s.mail(sender)
        for r in rcpts:
            assert s.rcpt(r)[0] == 250, r
        code, reply = s.data(body)
    assert code == 250, reply
    qid = harness.queue_id(reply)
    assert qid, reply
    return qid


def test_postfix_relays_to_its_sink_once(postfix):
    with smtplib.SMTP(postfix.host, postfix.port, local_hostname="client.example") as s:
        code, banner = s.ehlo()
        assert code == 250 and s.has_extn("xclient") and s.has_extn("xforward")
        s.mail("a@example.org")
        assert s.rcpt("b@example.com") == (250, b"2.1.5 Ok")
        code, reply = s.data(MESSAGE)
    assert code == 250
    qid = harness.queue_id(reply)
    assert re.fullmatch(r"[0-9A-F]{6,}", qid), reply
    postfix.wait_log(rf"postfix/smtpd\[\d+\]: {qid}: client=localhost\[127\.0\.0\.1\]$")
    m = postfix.wait_log(rf"postfix/smtp\[\d+\]: {qid}: to=<b@example\.com>, "
                         rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{postfix.sink.port}, .*"
                         r"status=sent \(250 2\.0\.0 Ok\)$")
    assert m
    postfix.wait_log(rf"{qid}: removed$")
    (msg,) = postfix.sink.wait_messages(1)
    postfix.wait_queue_empty()
    time.sleep(0.3)
    assert postfix.sink.count() == 1
    assert msg.mail_from == "a@example.org" and msg.rcpts == ["b@example.com"]
    assert msg.helo == postfix.myhostname
    assert re.search(rf"with ESMTP id {qid}\b", msg.message()["Received"])
    # Postfix added Received: on top; the body arrived unchanged except
    # that Postfix's smtp client folds lines over 998 octets (CRLF SPACE).
    body = MESSAGE.split(b"\r\n\r\n", 1)[1]
    folded = body.replace(b"x" * 1500, b"x" * 998 + b"\r\n " + b"x" * 502)
    assert msg.data_crlf.endswith(b"\r\n\r\n" + folded)
    assert msg.header("Message-ID") == "<anchor.1@example.org>"


def test_postfix_unknown_recipient_550(postfix):
    with smtplib.SMTP(postfix.host, postfix.port) as s:
        s.mail("a@example.org")
        code, text = s.rcpt(postfix.UNKNOWN_RECIPIENT)
        assert (code, text) == (550, b"5.1.1 <unknown@example.com>: Recipient address "
                                     b"rejected: User unknown")
        assert s.rcpt("b@example.com")[0] == 250
        code, reply = s.data(b"Subject: partial\r\n\r\nx\r\n")
        assert code == 250
    postfix.wait_log(r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 550 5\.1\.1 "
                     r"<unknown@example\.com>")
    (msg,) = postfix.sink.wait_messages(1)
    assert msg.rcpts == ["b@example.com"]


def test_postfix_reload_changes_recipient_access(postfix):
    with smtplib.SMTP(postfix.host, postfix.port) as s:
        s.mail("a@example.org")
        assert s.rcpt("gone@example.com")[0] == 250
    postfix.access["gone@example.com"] = "550 5.1.1 Gone away"
    postfix.reload()
    with smtplib.SMTP(postfix.host, postfix.port) as s:
        s.mail("a@example.org")
        assert s.rcpt("gone@example.com") == (
            550, b"5.1.1 <gone@example.com>: Recipient address rejected: Gone away")


def test_postfix_xclient_sets_client(postfix):
    with smtplib.SMTP(postfix.host, postfix.port, local_hostname="proxy.example") as s:
        s.ehlo()
        code, greeting = s.docmd("XCLIENT", "ADDR=192.0.2.7 NAME=client.example.net")
        assert code == 220, greeting  # XCLIENT answers with a new greeting
        s.ehlo("helo.client.example")
        s.mail("a@example.org")
        # 192.0.2.7 is not in mynetworks: only relay_domains are accepted.
        assert s.rcpt("b@example.com")[0] == 250
        code, text = s.rcpt("x@elsewhere.invalid")
        assert code == 554 and b"Relay access denied" in text
        code, reply = s.data(b"Subject: xclient\r\n\r\nx\r\n")
    assert code == 250
    qid = harness.queue_id(reply)
    postfix.wait_log(rf"{qid}: client=client\.example\.net\[192\.0\.2\.7\]$")
    (msg,) = postfix.sink.wait_messages(1)
    assert msg.message()["Received"].startswith(
        "from helo.client.example (client.example.net [192.0.2.7])")


def test_two_postfix_instances_chained(postfix_factory):
    """Two instances at once: front relays to back, back to its sink."""
    back = postfix_factory(name="back")
    front = postfix_factory(relay_to=back, name="front")
    assert front.port != back.port and front.workdir != back.workdir
    assert set(front.processes()).isdisjoint(back.processes())
    qid = _send(front, ["b@example.com"])
    m = front.wait_log(rf"{qid}: to=<b@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                       rf"{back.port}, .*status=sent \(250 2\.0\.0 Ok: queued as (\w+)\)")
    back_qid = m.group(1)
    back.wait_log(rf"{back_qid}: to=<b@example\.com>, .*status=sent")
    (msg,) = back.sink.wait_messages(1)
    received = msg.message().get_all("Received")
    assert f"by {back.myhostname} (Postfix) with ESMTP id {back_qid}" in received[0]
    assert f"by {front.myhostname} (Postfix) with ESMTP id {qid}" in received[1]
    assert not re.search(rf"\b{qid}: ", back.log_text())  # ids are per instance
    pids = front.processes()
    front.stop()
    assert not any(harness.pid_alive(p) for p in pids)
    assert harness.session_pids(front.master_pid, zombies=True) == []
    assert back.alive()
    _send(back, ["c@example.com"])
    assert len(back.sink.wait_messages(2)) == 2


def test_postfix_stop_leaves_nothing(postfix_factory):
    pf = postfix_factory(name="shortlived", relay_to=None)
    qid = _send(pf, ["b@example.com"])  # no downstream: stays queued
    pf.wait_log(rf"{qid}: .*status=deferred")
    assert not pf.queue_is_empty()
    pids = pf.processes()
    assert pf.master_pid in pids and len(pids) > 3
    pf.stop()
    assert [p for p in pids if harness.pid_alive(p)] == []
    assert harness.session_pids(pf.master_pid, zombies=True) == []
    assert not harness.is_listening(pf.host, pf.port)
    pf.stop()  # idempotent


def test_postfix_start_retries_when_its_port_is_taken(tmp_path):
    pf = harness.PrivatePostfix(tmp_path / "pf", relay_to=("127.0.0.1", 9), name="busy")
    taken = pf.port
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", taken))
        squatter.listen(1)
        try:
            pf.start()
            assert pf.port != taken
            assert "Address already in use" in pf.log_text()
            assert harness.is_listening(pf.host, pf.port)
        finally:
            pf.stop()
    dead = [int(p) for p in re.findall(r"postfix/master\[(\d+)\]: fatal", pf.log_text())]
    assert dead and not any(harness.pid_alive(p) for p in dead)
    assert harness.session_pids(dead[0], zombies=True) == []


# --- Mxmoatd, against a stand-in -------------------------------------------------

FAKE_MXMOATD = r'''#!/usr/bin/python3
# Stand-in for mxmoatd: reads the INI file, listens, logs like mxmoatd.
import configparser, signal, socket, sys
args = sys.argv[1:]
assert args[:2] == ["-f", "-c"], args
cp = configparser.ConfigParser()
cp.read(args[2])
host, port = cp["server"]["listen"].rsplit(":", 1)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port))); s.listen(5)
def log(msg): print(msg, file=sys.stderr, flush=True)
signal.signal(signal.SIGHUP, lambda *a: log("sid=0 event=reload ok=yes"))
def term(*a):
    log("sid=0 event=shutdown"); sys.exit(0)
signal.signal(signal.SIGTERM, term)
log("sid=0 event=start downstream=%s" % cp["downstream"]["address"])
while True:
    c, _ = s.accept()
    c.sendall(b"220 fake ESMTP\r\n"); c.close()
    log('sid=1 id=AB12 client=127.0.0.1 from=<a@example.org> rcpts=1 size=10 '
        'action=accept score=0.5 symbols="A,B C" ms=3')
'''


@pytest.fixture
def fake_mxmoatd(tmp_path):
    path = tmp_path / "fake-mxmoatd"
    path.write_text(FAKE_MXMOATD)
    path.chmod(0o755)
    return path


def test_mxmoatd_class_with_stand_in(mxmoatd_factory, fake_mxmoatd):
    md = mxmoatd_factory({"downstream": {"forward": "xclient"},
                          "smtp": {"smtputf8": True, "max_recipients": 50}},
                         downstream=("127.0.0.1", 2525), binary=fake_mxmoatd)
    conf = md.conf_path.read_text()
    assert f"[server]\nlisten = 127.0.0.1:{md.port}\n" in conf
    assert "[downstream]\nforward = xclient\naddress = 127.0.0.1:2525\n" in conf
    assert "[smtp]\nsmtputf8 = yes\nmax_recipients = 50\n" in conf
    assert f"[spool]\ndirectory = {md.workdir / 'spool'}\n" in conf
    md.wait_log(r"event=start downstream=127\.0\.0\.1:2525")
    with socket.create_connection(md.addr) as c:
        assert c.recv(100).startswith(b"220 ")
    (summary,) = md.wait_summaries(1)
    assert summary["action"] == "accept" and summary["symbols"] == "A,B C"
    md.reload(wait_for=r"event=reload ok=yes")
    assert md.alive()
    assert md.stop() == 0
    assert "event=shutdown" in md.log_text()


def test_mxmoatd_binary_location(monkeypatch, tmp_path):
    monkeypatch.setenv("MXMOAT_TOP_BUILDDIR", str(tmp_path))
    assert harness.mxmoatd_binary() == tmp_path / "mxmoatd"
    monkeypatch.delenv("MXMOAT_TOP_BUILDDIR")
    assert harness.mxmoatd_binary() == harness.REPO_ROOT / "mxmoatd"
