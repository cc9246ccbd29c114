"""CHUNKING / BDAT inbound (RFC 3030): chunks are taken as they are, the
same framing rules as DATA apply, and the downstream gets DATA.
"""
import time

from rawclient import RawClient

HOST = "mx.mxmoat.test"
CONF = {"server": {"client_name_lookup": "no", "hostname": HOST},
        "rules": {"enabled": "no"}, "attachments": {"enabled": "no"}}


def start(c):
    assert c.reply()[0] == 220
    code, ehlo = c.cmd("EHLO client.example")
    assert code == 250 and "CHUNKING" in ehlo
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<b@example.net>")[0] == 250


def test_bdat_message_in_chunks(sink, mxmoatd_factory):
    md = mxmoatd_factory(CONF, downstream=sink)
    part1 = b"From: a@example.org\r\nSubject: chunks\r\n\r\n"
    part2 = b".a line that starts with a dot\r\n..two dots\r\n"
    part3 = b"last line\r\n"
    with RawClient(md.host, md.port) as c:
        start(c)
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        code, lines = c.reply()
        assert code == 250 and lines[0] == f"2.0.0 Ok: {len(part1)} octets received"
        # pipelined: two chunks, the last marked LAST, in one send
        c.send(b"BDAT %d\r\n" % len(part2) + part2 + b"BDAT %d LAST\r\n" % len(part3) + part3)
        assert c.reply()[0] == 250
        code, lines = c.reply()
        assert code == 250 and lines[0].startswith("2.0.0 Ok")
        assert c.cmd("QUIT")[0] == 221
    # BDAT has no dot-stuffing: the dots are content, and the downstream
    # (DATA, re-stuffed) got them all
    assert sink.wait_messages(1)[0].data_crlf == part1 + part2 + part3
    assert md.wait_summaries(1)[-1]["action"] == "accept"


def test_bdat_zero_last(sink, mxmoatd_factory):
    md = mxmoatd_factory(CONF, downstream=sink)
    body = b"Subject: z\r\n\r\nbody\r\n"
    with RawClient(md.host, md.port) as c:
        start(c)
        c.send(b"BDAT %d\r\n" % len(body) + body)
        assert c.reply()[0] == 250
        c.send(b"BDAT 0 LAST\r\n")
        assert c.reply()[0] == 250
    assert sink.wait_messages(1)[0].data_crlf == body


def test_bdat_bare_lf_rejected(sink, mxmoatd_factory):
    md = mxmoat = mxmoatd_factory(CONF, downstream=sink)
    body = b"Subject: lf\r\n\r\nfirst\n.\nMAIL FROM:<evil@example.org>\r\n"
    with RawClient(md.host, md.port) as c:
        start(c)
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        code, lines = c.reply()
        assert code == 550 and lines[0].startswith("5.5.2 Error: bare <CR> or <LF> received")
        assert c.cmd("NOOP")[0] == 250
    time.sleep(0.5)
    assert sink.count() == 0
    assert mxmoat.wait_summaries(1)[-1]["reason"] == "bare_lf"


def test_bdat_cr_across_chunks_is_fine(sink, mxmoatd_factory):
    md = mxmoatd_factory(CONF, downstream=sink)
    with RawClient(md.host, md.port) as c:
        start(c)
        first = b"Subject: x\r\n\r\nab\r"
        c.send(b"BDAT %d\r\n" % len(first) + first)
        assert c.reply()[0] == 250
        c.send(b"BDAT 1 LAST\r\n\n")
        assert c.reply()[0] == 250
    assert sink.wait_messages(1)[0].data_crlf == b"Subject: x\r\n\r\nab\r\n"


def test_bdat_without_recipient_reads_and_refuses(sink, mxmoatd_factory):
    md = mxmoatd_factory(CONF, downstream=sink)
    with RawClient(md.host, md.port) as c:
        assert c.reply()[0] == 220
        c.cmd("EHLO client.example")
        # the 10 octets are read (not taken for commands), then refused
        c.send(b"BDAT 10 LAST\r\nQUIT\r\nNOOP")
        code, lines = c.reply()
        assert code == 503 and lines[0].startswith("5.5.1 Error: need RCPT command [id=")
        assert c.cmd("NOOP")[0] == 250


def test_data_after_bdat_refused(sink, mxmoatd_factory):
    md = mxmoatd_factory(CONF, downstream=sink)
    with RawClient(md.host, md.port) as c:
        start(c)
        c.send(b"BDAT 3\r\nab\n")
        assert c.reply()[0] == 250
        code, _ = c.cmd("DATA")
        assert code == 503


def test_bdat_over_size_limit(sink, mxmoatd_factory):
    conf = {k: dict(v) for k, v in CONF.items()}
    conf["smtp"] = {"max_message_size": "10K"}
    md = mxmoatd_factory(conf, downstream=sink)
    chunk = b"x" * 8000 + b"\r\n"
    with RawClient(md.host, md.port) as c:
        start(c)
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        assert c.reply()[0] == 250
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        code, lines = c.reply()
        assert code == 552 and lines[0].startswith("5.3.4")
    assert sink.count() == 0


def test_bdat_bad_syntax_closes(sink, mxmoatd_factory):
    md = mxmoatd_factory(CONF, downstream=sink)
    with RawClient(md.host, md.port) as c:
        start(c)
        code, lines = c.cmd("BDAT lots")
        assert code == 421
        assert c.closed()
