"""AUTH pass-through (submission-style use): AUTH is relayed in lock-step
to a real Postfix with Cyrus SASL (sasldb), over STARTTLS; an
authenticated session skips greylisting. What the client sends is never
logged.
"""
import base64
import os
import shutil
import smtplib
import ssl
import subprocess

import pytest

HOST = "mx.mxmoat.test"

pytestmark = pytest.mark.skipif(not shutil.which("saslpasswd2"),
                                reason="needs sasl2-bin and libsasl2-modules-db")


@pytest.fixture
def sasl_postfix(tmp_path, postfix_factory):
    d = tmp_path / "sasl"
    d.mkdir()
    db = d / "sasldb2"
    subprocess.run(["saslpasswd2", "-p", "-c", "-f", str(db), "-u", "example.org", "alice"],
                   input=b"s3cret-pw", check=True)
    (d / "smtpd.conf").write_text(f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                                  f"mech_list: PLAIN LOGIN\nsasldb_path: {db}\n")
    shutil.chown(db, "postfix")
    os.chmod(db, 0o600)
    os.chmod(d, 0o755)
    pf = postfix_factory(name="postfix", main_cf={
        "smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "cyrus",
        "cyrus_sasl_config_path": str(d), "smtpd_sasl_path": "smtpd",
        "smtpd_sasl_local_domain": "example.org",
        "smtpd_tls_auth_only": "no"})
    # Debian's Postfix reads the Cyrus configuration from
    # $config_directory/sasl/ (cyrus_sasl_config_path aside); smtpd
    # processes read it when they start, i.e. at the first connection
    (pf.config_dir / "sasl").mkdir(exist_ok=True)
    (pf.config_dir / "sasl" / "smtpd.conf").write_text((d / "smtpd.conf").read_text())
    return pf


@pytest.fixture
def cert(tmp_path):
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={HOST}", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    return crt, key


def conf(cert):
    return {"server": {"client_name_lookup": "no", "hostname": HOST},
            "rules": {"enabled": "no"},
            "tls": {"cert": str(cert[0]), "key": str(cert[1])}}


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_auth_relayed_over_tls(sasl_postfix, cert, mxmoatd_factory):
    md = mxmoatd_factory(conf(cert), downstream=sasl_postfix)
    with smtplib.SMTP(md.host, md.port) as s:
        code, ehlo = s.ehlo("client.example")
        # not before TLS
        assert b"AUTH" not in ehlo
        s.starttls(context=tls_ctx())
        code, ehlo = s.ehlo("client.example")
        assert b"AUTH PLAIN LOGIN" in ehlo or b"AUTH LOGIN PLAIN" in ehlo
        code, resp = s.login("alice@example.org", "s3cret-pw")
        assert code == 235
        assert s.sendmail("alice@example.org", ["bob@example.net"],
                          b"Subject: authed\r\n\r\nhi\r\n") == {}
    sasl_postfix.wait_log(r"sasl_method=(PLAIN|LOGIN), sasl_username=alice@example.org")
    assert sasl_postfix.sink.wait_messages(1)
    log = md.log_text()
    assert "event=auth mechanism=" in log and "status=ok" in log
    secret = base64.b64encode(b"\0alice@example.org\0s3cret-pw").decode()
    assert "s3cret-pw" not in log and secret not in log


def test_auth_wrong_password_passed_through(sasl_postfix, cert, mxmoatd_factory):
    md = mxmoatd_factory(conf(cert), downstream=sasl_postfix)
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        s.starttls(context=tls_ctx())
        s.ehlo("client.example")
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice@example.org", "wrong")
        assert e.value.smtp_code == 535
    md.wait_log(r"event=auth mechanism=\w+ status=failed code=535")


def test_auth_login_multi_step(sasl_postfix, cert, mxmoatd_factory):
    md = mxmoatd_factory(conf(cert), downstream=sasl_postfix)
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        s.starttls(context=tls_ctx())
        s.ehlo("client.example")
        code, msg = s.docmd("AUTH", "LOGIN")
        assert code == 334
        code, msg = s.docmd(base64.b64encode(b"alice@example.org").decode())
        assert code == 334
        code, msg = s.docmd(base64.b64encode(b"s3cret-pw").decode())
        assert code == 235
        code, msg = s.docmd("AUTH", "PLAIN")
        assert code == 503


def test_auth_bad_continuation_cancels(sasl_postfix, cert, mxmoatd_factory):
    md = mxmoatd_factory(conf(cert), downstream=sasl_postfix)
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        s.starttls(context=tls_ctx())
        s.ehlo("client.example")
        assert s.docmd("AUTH", "LOGIN")[0] == 334
        code, msg = s.docmd("not base64 !!")
        assert code in (501, 535)
        assert s.docmd("NOOP")[0] == 250
