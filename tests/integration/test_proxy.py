"""mxmoatd as a transparent SMTP proxy: what reaches the downstream, and
what the client is told. Real Postfix and smtp-sink instances downstream.
"""
import re
import smtplib
import time

import pytest

import harness
from rawclient import RawClient

HOST = "mx.mxmoat.test"
ID = re.compile(r"\[id=[0-9a-z]{13}\]$")


def config(**sections):
    base = {"server": {"client_name_lookup": "no", "hostname": HOST},
            "log": {"level": "info"},
            # the proxy alone: no scanner, so messages pass byte for byte
            "rules": {"enabled": "no"}}
    for name, keys in sections.items():
        base.setdefault(name, {}).update(keys)
    return base


def message(subject="test", body=b"hello\r\n", extra=b""):
    return (b"From: Alice <alice@example.org>\r\n"
            b"To: Bob <bob@example.net>\r\n"
            b"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
            b"Message-ID: <" + subject.encode() + b"@example.org>\r\n"
            b"Subject: " + subject.encode() + b"\r\n" + extra +
            b"\r\n" + body)


def strip_received(data: bytes) -> bytes:
    """Remove the one Received: header (with its continuation lines) that
    the downstream Postfix put on top."""
    assert data.startswith(b"Received: "), data[:200]
    lines = data.split(b"\r\n")
    i = 1
    while lines[i].startswith((b" ", b"\t")):
        i += 1
    return b"\r\n".join(lines[i:])


def greet(c, helo="client.example"):
    code, lines = c.reply()
    assert code == 220 and lines[0].startswith(HOST), lines
    code, ehlo = c.cmd(f"EHLO {helo}")
    assert code == 250
    return ehlo


def transaction(c, sender="alice@example.org", rcpts=("bob@example.net",)):
    assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
    for r in rcpts:
        assert c.cmd(f"RCPT TO:<{r}>")[0] == 250
    assert c.cmd("DATA")[0] == 354


# --- ordinary delivery ---------------------------------------------------------

TRICKY_BODY = (b"Line one\r\n"
               b".leading dot\r\n"
               b"..two dots\r\n"
               b".\r\n"
               b"trailing spaces   \r\n"
               b"\ttab\r\n"
               b"\r\n"
               b"8bit: caf\xc3\xa9 \xe2\x82\xac\r\n"
               + b"x" * 990 + b"\r\n"
               b"last line\r\n")


def test_delivery_through_postfix_is_byte_exact(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    msg = message("exact", TRICKY_BODY)
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        assert s.mail("alice@example.org", ["BODY=8BITMIME"])[0] == 250
        assert s.rcpt("bob@example.net")[0] == 250
        code, resp = s.data(msg)
    assert code == 250, resp
    qid = harness.queue_id(resp)
    assert qid, resp
    got = postfix.sink.wait_messages(1)
    assert len(got) == 1
    assert strip_received(got[0].data_crlf) == msg
    assert got[0].mail_from == "alice@example.org"
    assert got[0].rcpts == ["bob@example.net"]
    summary = md.wait_summaries(1)[-1]
    assert summary["action"] == "accept"
    assert summary["downstream_id"] == qid
    assert summary["from"] == "<alice@example.org>"
    assert summary["rcpts"] == "bob@example.net"
    assert int(summary["size"]) == len(msg)
    assert summary["reply"].startswith("250 2.0.0 Ok: queued as " + qid)


def test_delivery_through_smtp_sink_is_byte_exact(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    msg = message("sink", TRICKY_BODY)
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        assert s.sendmail("alice@example.org", ["bob@example.net", "carol@example.net"],
                          msg) == {}
    got = sink.wait_messages(1)
    assert got[0].data_crlf == msg
    assert got[0].rcpts == ["bob@example.net", "carol@example.net"]
    assert got[0].helo == "client.example"


def test_dot_stuffing_round_trip(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    # as sent on the wire (stuffed), and what the content is (RFC 5321 4.5.2)
    wire = (b"Subject: dots\r\n\r\n"
            b"..\r\n"
            b"...\r\n"
            b"..x\r\n"
            b".y\r\n"       # not stuffed by the client: the dot is removed
            b"....\r\n"
            b"end\r\n")
    content = (b"Subject: dots\r\n\r\n"
               b".\r\n"
               b"..\r\n"
               b".x\r\n"
               b"y\r\n"
               b"...\r\n"
               b"end\r\n")
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(wire + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
    # smtp-sink unstuffs: had mxmoatd not re-stuffed, the sink would have
    # eaten a dot from each of these lines
    assert sink.wait_messages(1)[0].data_crlf == content


def test_empty_message(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(b".\r\n")
        assert c.reply()[0] == 250
    assert sink.wait_messages(1)[0].data == b""


def test_large_message_through_file_spool(sink, mxmoatd_factory, tmp_path):
    md = mxmoatd_factory(config(spool={"memory_limit": "64K"}), downstream=sink)
    body = b"".join(b"%s line %06d of a large message\r\n" % (b"." if i % 7 == 0 else b"", i)
                    for i in range(80000))
    msg = message("large", body)
    assert len(msg) > 2_000_000
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        assert s.sendmail("alice@example.org", ["bob@example.net"], msg) == {}
    assert sink.wait_messages(1, timeout=20)[0].data_crlf == msg
    # the spool file was unlinked when it was created
    assert list((tmp_path / "mxmoatd" / "spool").iterdir()) == []


def test_pipelined_transactions(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        ehlo = greet(c)
        assert "PIPELINING" in ehlo
        c.send(b"MAIL FROM:<a1@example.org>\r\nRCPT TO:<b1@example.net>\r\n"
               b"RCPT TO:<c1@example.net>\r\nDATA\r\n")
        assert [r[0] for r in c.replies(4)] == [250, 250, 250, 354]
        c.send(message("one") + b".\r\n"
               b"MAIL FROM:<a2@example.org>\r\nRCPT TO:<b2@example.net>\r\nDATA\r\n" +
               message("two") + b".\r\nQUIT\r\n")
        codes = [r[0] for r in c.replies(5)]
        assert codes == [250, 250, 250, 354, 250]
        assert c.reply()[0] == 221
    got = sorted(sink.wait_messages(2), key=lambda m: m.mail_from)
    assert [(m.mail_from, m.rcpts) for m in got] == [
        ("a1@example.org", ["b1@example.net", "c1@example.net"]),
        ("a2@example.org", ["b2@example.net"])]
    assert got[0].data_crlf == message("one")
    assert got[1].data_crlf == message("two")
    assert len(md.wait_summaries(2)) == 2


def test_rset_and_reuse(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<b@example.net>")[0] == 250
        assert c.cmd("RSET")[0] == 250
        assert c.cmd("RCPT TO:<b@example.net>")[0] == 503
        transaction(c, "second@example.org")
        c.send(message("after-rset") + b".\r\n")
        assert c.reply()[0] == 250
    got = sink.wait_messages(1)
    assert len(got) == 1 and got[0].mail_from == "second@example.org"
    actions = [s["action"] for s in md.wait_summaries(2)]
    assert actions == ["abort", "accept"]


# --- the downstream's answers reach the client -------------------------------

def test_unknown_recipient_passed_through(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
        code, lines = c.cmd("RCPT TO:<unknown@example.com>")
        assert code == 550
        assert lines[0] == "5.1.1 <unknown@example.com>: Recipient address rejected: User unknown"
        assert c.cmd("RCPT TO:<bob@example.net>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message("partly") + b".\r\n")
        assert c.reply()[0] == 250
    got = postfix.sink.wait_messages(1)
    assert got[0].rcpts == ["bob@example.net"]
    assert md.wait_summaries(1)[-1]["nrcpt"] == "1"


def test_all_recipients_rejected_means_no_data(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<unknown@example.com>")[0] == 550
        code, lines = c.cmd("DATA")
        assert code == 554 and lines[0].startswith("5.5.1 Error: no valid recipients")
        assert ID.search(lines[0])
    time.sleep(0.5)
    assert postfix.sink.count() == 0


def test_downstream_tempfail_on_rcpt_passed_through(sink_factory, mxmoatd_factory):
    sink = sink_factory(["-r", "RCPT"])
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        code, lines = c.cmd("RCPT TO:<b@example.net>")
        assert (code, lines[0]) == (450, "4.3.0 Error: command failed")


def test_downstream_rejects_message_at_dot(sink_factory, mxmoatd_factory):
    sink = sink_factory(["-f", "."])
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(message("rejected") + b".\r\n")
        code, lines = c.reply()
        assert (code, lines[0]) == (500, "5.3.0 Error: command failed")
    summary = md.wait_summaries(1)[-1]
    assert summary["action"] == "reject" and summary["reason"] == "downstream"


# --- limits --------------------------------------------------------------------

def test_size_limit_at_mail(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"max_message_size": "10K"}), downstream=postfix)
    with RawClient(md.host, md.port) as c:
        ehlo = greet(c)
        assert "SIZE 10240" in ehlo
        code, lines = c.cmd("MAIL FROM:<alice@example.org> SIZE=20000")
        assert code == 552 and lines[0].startswith("5.3.4 ")
        assert ID.search(lines[0])
        # within the limit is fine
        assert c.cmd("MAIL FROM:<alice@example.org> SIZE=2000")[0] == 250


def test_size_limit_in_data(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"max_message_size": "10K"}), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(message("big", b"y" * 100 + b"\r\n") * 200 + b".\r\n")
        code, lines = c.reply()
        assert code == 552 and lines[0].startswith("5.3.4 Error: message file too big")
        # the session goes on: a small message still passes
        transaction(c)
        c.send(message("small") + b".\r\n")
        assert c.reply()[0] == 250
    got = sink.wait_messages(1)
    time.sleep(0.3)
    assert sink.count() == 1 and got[0].data_crlf == message("small")
    assert [s["reason"] for s in md.summary_lines()][0] == "message_size"


def test_too_many_recipients(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(smtp={"max_recipients": "3"}), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        for i in range(3):
            assert c.cmd(f"RCPT TO:<r{i}@example.net>")[0] == 250
        code, lines = c.cmd("RCPT TO:<r3@example.net>")
        assert code == 452 and lines[0].startswith("4.5.3 Error: too many recipients")
        assert c.cmd("DATA")[0] == 354
        c.send(message("three") + b".\r\n")
        assert c.reply()[0] == 250
    assert sink.wait_messages(1)[0].rcpts == [f"r{i}@example.net" for i in range(3)]


# --- framing: nothing is smuggled -------------------------------------------------

SMUGGLE = (b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
           b"Subject: smuggled\r\n\r\nhidden message\r\n")


@pytest.mark.parametrize("sep", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r",
                                 b"\n..\n", b"\r\n.\r\r\n"],
                         ids=["LF.LF", "LF.CRLF", "CRLF.LF", "CR.CRLF", "CRLF.CR",
                              "LF..LF", "CRLF.CRCRLF"])
def test_smuggling_attempt(sep, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(message("outer", b"first part") + sep + SMUGGLE + b".\r\n")
        code, lines = c.reply()
        assert code == 550 and lines[0].startswith("5.5.2 Error: bare <CR> or <LF> received")
        assert ID.search(lines[0])
        # the hidden commands were data, never commands: nothing is pending
        assert c.cmd("NOOP")[0] == 250
        assert c.cmd("QUIT")[0] == 221
    time.sleep(0.5)
    assert sink.count() == 0
    summary = md.wait_summaries(1)[-1]
    assert summary["action"] == "reject"
    assert summary["reason"] in ("bare_lf", "bare_cr")


def test_smuggling_through_postfix(postfix, mxmoatd_factory):
    """The whole path: the downstream Postfix gets no message at all, in
    particular not the hidden one for victim@example.net."""
    md = mxmoatd_factory(config(), downstream=postfix)
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(message("outer", b"first part") + b"\n.\n" + SMUGGLE + b".\r\n")
        assert c.reply()[0] == 550
        # a clean message afterwards is delivered exactly once
        transaction(c)
        c.send(message("clean") + b".\r\n")
        assert c.reply()[0] == 250
    got = postfix.sink.wait_messages(1)
    time.sleep(1.0)
    assert postfix.sink.count() == 1
    assert got[0].rcpts == ["bob@example.net"]
    assert b"hidden message" not in got[0].raw


def test_bare_lf_only_line_endings_rejected(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(b"Subject: unix\n\nline\n.\n" + b"\r\n.\r\n")
        assert c.reply()[0] == 550
    assert md.wait_summaries(1)[-1]["reason"] == "bare_lf"
    assert sink.count() == 0


# --- failures: nothing is lost ----------------------------------------------------

def test_downstream_down_at_connect(mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=("127.0.0.1", harness.free_port()))
    with RawClient(md.host, md.port) as c:
        code, lines = c.reply()
        assert code == 421 and lines[0].startswith(f"4.3.0 {HOST} Service temporarily unavailable")
        assert ID.search(lines[0])
        assert c.closed()
    md.wait_log(r"event=downstream_error error=\"(Connection refused|connect failed)")


def test_downstream_lost_at_dot(sink_factory, mxmoatd_factory):
    """smtp-sink drops the connection on the final dot without answering:
    the client is told 451 and keeps the message."""
    sink = sink_factory(["-q", "."])
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(message("lost") + b".\r\n")
        code, lines = c.reply()
        assert code == 451 and lines[0].startswith("4.3.0 ")
        assert ID.search(lines[0])
        # without a downstream the next transaction cannot start
        code, lines = c.cmd("MAIL FROM:<a@example.org>")
        assert code == 421
    summary = md.wait_summaries(1)[-1]
    assert summary["action"] == "tempfail" and summary["reason"] == "downstream_lost"


def test_downstream_lost_during_rcpt(sink_factory, mxmoatd_factory):
    sink = sink_factory(["-q", "RCPT"])
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        code, lines = c.cmd("RCPT TO:<b@example.net>")
        assert code == 421 and lines[0].startswith(f"4.3.0 {HOST} ")
        assert c.closed()


def test_client_disconnect_mid_data(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    c = RawClient(md.host, md.port)
    greet(c)
    transaction(c)
    c.send(message("cut", b"the first half of a message\r\n" * 50))
    c.close()
    summary = md.wait_summaries(1)[-1]
    assert summary["action"] == "abort"
    assert summary["reason"] == "client_disconnected_in_data"
    time.sleep(1.0)
    assert postfix.sink.count() == 0
    assert postfix.queue_is_empty()


# --- XCLIENT: the downstream sees the real client ------------------------------------

def test_xclient_seen_by_postfix(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    with RawClient(md.host, md.port, source="127.0.0.2") as c:
        greet(c, helo="real-client.example")
        transaction(c)
        c.send(message("xclient") + b".\r\n")
        code, lines = c.reply()
        assert code == 250
        qid = harness.queue_id(lines[0])
    # Postfix applied its session to the real client, not to mxmoatd
    postfix.wait_log(rf"{qid}: client=unknown\[127\.0\.0\.2\]")
    got = postfix.sink.wait_messages(1)
    received = got[0].header("Received")
    assert "from real-client.example (unknown [127.0.0.2])" in received
    assert md.summary_lines()[-1]["client"] == "127.0.0.2"


def test_xclient_required_by_default(sink_factory, mxmoatd_factory):
    """A downstream that does not offer XCLIENT (smtp-sink -C) would take
    mxmoatd for the client: mxmoatd refuses to relay instead."""
    sink = sink_factory(["-C"])
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        code, lines = c.reply()
        assert code == 421
    md.wait_log("downstream does not offer XCLIENT")


def test_forward_none_works_without_xclient(sink_factory, mxmoatd_factory):
    sink = sink_factory(["-C"])
    md = mxmoatd_factory(config(downstream={"forward": "none"}), downstream=sink)
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        assert s.sendmail("a@example.org", ["b@example.net"], message("none")) == {}
    assert sink.wait_messages(1)[0].data_crlf == message("none")


# --- ESMTP: only what both sides support, parameters passed on --------------------

def test_ehlo_offers_intersection(sink_factory, postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix, name="via-postfix")
    with RawClient(md.host, md.port) as c:
        ehlo = greet(c)
    for ext in ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"):
        assert ext in ehlo
    assert any(l.startswith("SIZE ") for l in ehlo)
    # CHUNKING is mxmoat's own (the downstream gets DATA)
    assert "CHUNKING" in ehlo
    for ext in ("XCLIENT", "XFORWARD", "STARTTLS", "AUTH", "VRFY", "ETRN"):
        assert not any(l.startswith(ext) for l in ehlo), ehlo

    sink = sink_factory(["-8", "-N"])   # no 8BITMIME, no DSN
    md2 = mxmoatd_factory(config(), downstream=sink, name="via-sink")
    with RawClient(md2.host, md2.port) as c:
        ehlo = greet(c)
        assert "8BITMIME" not in ehlo and "DSN" not in ehlo
        code, lines = c.cmd("MAIL FROM:<a@example.org> BODY=8BITMIME")
        assert code == 555 and lines[0].startswith("5.5.4 Unsupported option: BODY")
        code, _ = c.cmd("MAIL FROM:<a@example.org> RET=HDRS")
        assert code == 555


def test_dsn_parameters_passed_on(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ314159+2Bx")[0] == 250
        assert c.cmd("RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE "
                     "ORCPT=rfc822;b@example.net")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message("dsn") + b".\r\n")
        assert c.reply()[0] == 250
    got = sink.wait_messages(1)[0]
    assert got.mail_args == "<a@example.org> RET=HDRS ENVID=QQ314159+2Bx"
    assert got.rcpt_args == ["<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.net"]


def test_unknown_parameter_refused(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        code, lines = c.cmd("MAIL FROM:<a@example.org> X-SECRET=1")
        assert code == 555 and lines[0].startswith("5.5.4 Unsupported option: X-SECRET")
        # smtp-sink offers no SIZE, so neither does mxmoatd
        code, lines = c.cmd("MAIL FROM:<a@example.org> SIZE=100")
        assert code == 555
        code, lines = c.cmd("MAIL FROM:<a@example.org> RET=BOGUS")
        assert code == 501 and lines[0].startswith("5.5.4 Bad RET parameter")
        code, lines = c.cmd("MAIL FROM:<a b@example.org>")
        assert code == 501 and lines[0].startswith("5.1.7 Bad sender address syntax")
        code, lines = c.cmd("MAIL FROM:<a@example.org")
        assert code == 501


def test_smtputf8(postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=postfix)
    with RawClient(md.host, md.port) as c:
        greet(c)
        code, lines = c.cmd("MAIL FROM:<jöran@example.org>")
        assert code == 553 and lines[0].startswith("5.6.7 ")
        assert c.cmd("MAIL FROM:<jöran@example.org> SMTPUTF8")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.net>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message("utf8") + b".\r\n")
        code, lines = c.reply()
        assert code == 250
    # (smtp-sink behind Postfix offers no SMTPUTF8, so Postfix bounces it
    # on; what matters here is what Postfix accepted from mxmoatd)
    qid = harness.queue_id(lines[0])
    postfix.wait_log(rf"{qid}: from=<jöran@example.org>")


def test_helo_is_optional_and_mail_before_helo_works(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        assert c.reply()[0] == 220
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<b@example.net>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message("nohelo") + b".\r\n")
        assert c.reply()[0] == 250
    assert sink.wait_messages(1)[0].data_crlf == message("nohelo")


def test_sequence_errors(sink, mxmoatd_factory):
    md = mxmoatd_factory(config(), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("RCPT TO:<b@example.net>")[0] == 503
        assert c.cmd("DATA")[0] == 503
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 503
        assert c.cmd("DATA")[0] == 554
        code, lines = c.cmd("EHLO")
        assert code == 501


# --- a slow downstream ----------------------------------------------------------

def test_downstream_command_timeout(sink_factory, mxmoatd_factory):
    sink = sink_factory(["-W", "RCPT:4"])
    md = mxmoatd_factory(config(downstream={"command_timeout": "1s"}), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        t0 = time.monotonic()
        code, lines = c.cmd("RCPT TO:<b@example.net>")
        assert code == 421 and lines[0].startswith(f"4.3.0 {HOST} ")
        assert 0.9 < time.monotonic() - t0 < 3.5
    md.wait_log(r"event=downstream_error error=\"downstream timeout after 1000ms\"")


def test_downstream_data_timeout(sink_factory, mxmoatd_factory):
    """The downstream takes the message but does not answer the dot in
    time: the client gets 451 and keeps the message."""
    sink = sink_factory(["-W", ".:4"])
    md = mxmoatd_factory(config(downstream={"data_timeout": "1s"}), downstream=sink)
    with RawClient(md.host, md.port) as c:
        greet(c)
        transaction(c)
        c.send(message("slow") + b".\r\n")
        code, lines = c.reply()
        assert code == 451 and lines[0].startswith("4.3.0 ")
    summary = md.wait_summaries(1)[-1]
    assert summary["action"] == "tempfail"


def test_downstream_connect_timeout(mxmoatd_factory):
    """A downstream that accepts the connection but never greets."""
    import socket
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(8)
    try:
        md = mxmoatd_factory(config(downstream={"connect_timeout": "1s"}),
                             downstream=quiet.getsockname())
        with RawClient(md.host, md.port) as c:
            t0 = time.monotonic()
            code, lines = c.reply()
            assert code == 421 and lines[0].startswith(f"4.3.0 {HOST} ")
            assert 0.9 < time.monotonic() - t0 < 3.5
    finally:
        quiet.close()
