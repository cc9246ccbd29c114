"""STARTTLS on the inbound side: certificates made here with openssl, real
clients (smtplib, swaks), and the plaintext-injection case.
"""
import shutil
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from rawclient import RawClient

HOST = "mx.mxmoat.test"


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return crt, key


def config(cert, **sections):
    crt, key = cert
    base = {"server": {"client_name_lookup": "no", "hostname": HOST},
            "rules": {"enabled": "no"},
            "tls": {"cert": str(crt), "key": str(key)}}
    for name, keys in sections.items():
        base.setdefault(name, {}).update(keys)
    return base


def client_ctx(cert):
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    ctx.check_hostname = False
    return ctx


MESSAGE = (b"From: a@example.org\r\nTo: b@example.net\r\nSubject: tls\r\n"
           b"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\nMessage-ID: <tls@example.org>\r\n\r\n"
           b"over TLS\r\n")


def test_starttls_with_smtplib(cert, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(cert), downstream=sink)
    with smtplib.SMTP(md.host, md.port) as s:
        code, ehlo = s.ehlo("client.example")
        assert b"STARTTLS" in ehlo
        code, _ = s.starttls(context=client_ctx(cert))
        assert code == 220
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3")
        # after TLS: a new EHLO, no STARTTLS offered again
        code, ehlo = s.ehlo("client.example")
        assert code == 250 and b"STARTTLS" not in ehlo
        assert s.sendmail("a@example.org", ["b@example.net"], MESSAGE) == {}
    got = sink.wait_messages(1)[0]
    # our trace field carries the TLS details (XCLIENT has no attribute for
    # them), then the message as sent
    head, _, rest = got.data_crlf.partition(b"\r\n\tid ")
    assert head.startswith(b"Received: from client.example (unknown [127.0.0.1])\r\n"
                           b"\tby mx.mxmoat.test (mxmoat) with ESMTPS (TLSv1.")
    assert rest.split(b"\r\n", 1)[1] == MESSAGE
    md.wait_log(r"event=tls protocol=\"TLSv1\.[23] ")


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")
def test_starttls_with_swaks(cert, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(cert), downstream=sink)
    r = subprocess.run(["swaks", "--server", md.host, "--port", str(md.port), "--tls",
                        "--from", "a@example.org", "--to", "b@example.net",
                        "--helo", "client.example"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "<-  220 2.0.0 Ready to start TLS" in r.stdout
    assert "<~  250 2.0.0 Ok" in r.stdout
    assert sink.wait_messages(1)


def test_plaintext_after_starttls_is_discarded(cert, sink, mxmoatd_factory):
    """STARTTLS and a command in one packet: the command must not be run
    as if it came over TLS (CVE-2011-0411)."""
    md = mxmoatd_factory(config(cert), downstream=sink)
    raw = socket.create_connection((md.host, md.port), timeout=10)
    f = raw.makefile("rb")
    assert f.readline().startswith(b"220")
    raw.sendall(b"EHLO client.example\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
    assert f.readline().startswith(b"220 2.0.0")
    tls = client_ctx(cert).wrap_socket(raw, server_hostname=HOST)
    tf = tls.makefile("rb")
    tls.sendall(b"EHLO client.example\r\n")
    while True:
        line = tf.readline()
        assert not line.startswith(b"250 2.1.0"), "the injected MAIL was answered"
        if line.startswith(b"250 "):
            break
    # the transaction starts only now: a second MAIL is not "nested"
    tls.sendall(b"MAIL FROM:<a@example.org>\r\n")
    assert tf.readline().startswith(b"250 2.1.0")
    tls.sendall(b"QUIT\r\n")
    tls.close()


def test_starttls_twice_and_in_transaction(cert, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(cert), downstream=sink)
    with RawClient(md.host, md.port) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        code, lines = c.cmd("STARTTLS")
        assert code == 503 and lines[0].startswith("5.5.1 Error: MAIL transaction in progress")
        assert c.cmd("STARTTLS now")[0] == 501
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        s.starttls(context=client_ctx(cert))
        s.ehlo("client.example")
        code, msg = s.docmd("STARTTLS")
        assert code == 554 and msg.startswith(b"5.5.1 Error: TLS already active")


def test_no_starttls_without_certificate(sink, mxmoatd_factory):
    md = mxmoatd_factory({"server": {"client_name_lookup": "no", "hostname": HOST},
                          "rules": {"enabled": "no"}}, downstream=sink)
    with RawClient(md.host, md.port) as c:
        c.reply()
        code, ehlo = c.cmd("EHLO client.example")
        assert "STARTTLS" not in ehlo
        assert c.cmd("STARTTLS")[0] == 502


def test_tls_handshake_timeout(cert, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(cert, tls={"handshake_timeout": "1s"}), downstream=sink)
    with RawClient(md.host, md.port) as c:
        c.reply()
        c.cmd("EHLO client.example")
        assert c.cmd("STARTTLS")[0] == 220
        t0 = time.monotonic()
        assert c.closed(timeout=5)
        assert time.monotonic() - t0 < 4
    md.wait_log(r"reason=tls_handshake_timeout")


def test_tls_1_1_refused(cert, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(cert), downstream=sink)
    ctx = client_ctx(cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        with pytest.raises((ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionError)):
            s.starttls(context=ctx)
    md.wait_log(r"event=tls_failed|reason=tls_handshake_failed")


def test_bad_certificate_refused_at_start(tmp_path, mxmoatd_factory, sink):
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    import harness
    conf = tmp_path / "m.conf"
    conf.write_text(f"[server]\nlisten = 127.0.0.1:{harness.free_port()}\n"
                    f"[tls]\ncert = {tmp_path}/bad.pem\nkey = {tmp_path}/bad.pem\n"
                    "[rules]\nenabled = no\n")
    r = subprocess.run([str(harness.mxmoatd_binary()), "-f", "-c", str(conf)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "[tls] cert" in r.stderr


# --- STARTTLS to the downstream ----------------------------------------------

def tls_postfix(postfix_factory, cert):
    crt, key = cert
    return postfix_factory(name="postfix", main_cf={
        "smtpd_tls_cert_file": str(crt), "smtpd_tls_key_file": str(key),
        "smtpd_tls_security_level": "may", "smtpd_tls_loglevel": "1"})


def test_downstream_starttls_verified(cert, postfix_factory, mxmoatd_factory):
    pf = tls_postfix(postfix_factory, cert)
    md = mxmoatd_factory(config(cert, downstream={
        "tls": "yes", "tls_verify": "yes", "tls_ca": str(cert[0]), "tls_name": HOST}),
        downstream=pf)
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        assert s.sendmail("a@example.org", ["b@example.net"], MESSAGE) == {}
    pf.wait_log(r"TLS connection established from \S+: TLSv1\.[23]")
    assert pf.sink.wait_messages(1)
    md.wait_log(r"event=downstream_tls")


def test_downstream_starttls_wrong_name_refused(cert, postfix_factory, mxmoatd_factory):
    pf = tls_postfix(postfix_factory, cert)
    md = mxmoatd_factory(config(cert, downstream={
        "tls": "yes", "tls_verify": "yes", "tls_ca": str(cert[0]),
        "tls_name": "other.example"}), downstream=pf)
    with RawClient(md.host, md.port) as c:
        code, lines = c.reply()
        assert code == 421
    md.wait_log(r"downstream TLS handshake failed")
    assert pf.sink.count() == 0


def test_downstream_tls_required_but_not_offered(cert, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(cert, downstream={"tls": "yes", "tls_verify": "no"}),
                         downstream=sink)
    with RawClient(md.host, md.port) as c:
        assert c.reply()[0] == 421
    md.wait_log(r"does not offer STARTTLS")
