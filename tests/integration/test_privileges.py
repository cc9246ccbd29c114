"""Privileges and the systemd unit: root only binds and reads keys, then
mxmoatd runs as [daemon] user; it refuses to run as root otherwise.
"""
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

import harness

TOP = Path(os.environ.get("MXMOAT_TOP_SRCDIR", Path(__file__).parents[2])).resolve()


def uids(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_drops_to_unprivileged_user(sink, mxmoatd_factory):
    md = mxmoatd_factory({"server": {"client_name_lookup": "no"},
                          "rules": {"enabled": "no"}, "daemon": {"user": "nobody"}},
                         downstream=sink)
    nobody = pwd.getpwnam("nobody").pw_uid
    # the port is bound (and seen listening) before the drop: wait for it
    md.wait_log(r"event=privileges user=nobody uid=%d" % nobody)
    # real, effective, saved and filesystem uid: all nobody
    assert uids(md.pid) == [nobody] * 4
    # and it still works: listening on the port bound as root
    import smtplib
    with smtplib.SMTP(md.host, md.port) as s:
        s.ehlo("client.example")
        assert s.sendmail("a@example.org", ["b@example.net"], b"Subject: x\r\n\r\nx\r\n") == {}
    assert sink.wait_messages(1)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("user, message", [
    ("", "refusing to run as root: set [daemon] user"),
    ("root", "refusing to run as root"),
    ("no-such-user-mxmoat", "[daemon] user no-such-user-mxmoat does not exist"),
])
def test_refuses_to_run_as_root(tmp_path, user, message):
    conf = tmp_path / "m.conf"
    conf.write_text(f"[server]\nlisten = 127.0.0.1:{harness.free_port()}\n"
                    f"client_name_lookup = no\n[rules]\nenabled = no\n"
                    f"[spool]\ndirectory = {tmp_path}\n[daemon]\nuser = {user}\n")
    r = subprocess.run([str(harness.mxmoatd_binary()), "-f", "-c", str(conf)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert message in r.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_unit_verifies(tmp_path):
    unit = tmp_path / "mxmoat.service"
    text = (TOP / "systemd" / "mxmoat.service").read_text()
    # verify checks that ExecStart's binary exists: point it at the build
    text = text.replace("/usr/local/sbin/mxmoatd", str(harness.mxmoatd_binary()))
    unit.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Type=notify" in text and "ExecReload=" in text
    for hardening in ("ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
                      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"):
        assert hardening in text
