"""Greylisting through mxmoatd with its state in a real redis-server.

Each test starts its own redis-server on a private port (harness.RedisServer)
and an mxmoatd in front of a real downstream (a private Postfix relaying to
smtp-sink, or smtp-sink alone), with a delay of a few seconds. Clients are
real SMTP clients (smtplib, the raw client); other client addresses and
verified host names come in through XFORWARD from an authorized upstream,
as in the smtpd_proxy_filter deployment.
"""
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import harness
from rawclient import RawClient
from test_auth import cert, sasl_postfix  # noqa: F401 (fixtures)

TOP = Path(os.environ.get("MXMOAT_TOP_SRCDIR", Path(__file__).parents[2])).resolve()
WHITELIST = TOP / "share" / "greylist-whitelist"
DELAY = 3  # seconds

pytestmark = pytest.mark.root

REPLY_NEW = re.compile(r"^Greylisted: first delivery attempt, please retry in (\d+) seconds "
                       r"\[id=[0-9A-Za-z]+\]$")
REPLY_EARLY = re.compile(r"^Greylisted: retried too early, please retry in (\d+) seconds "
                         r"\[id=[0-9A-Za-z]+\]$")


@pytest.fixture
def redis_factory(tmp_path, _harness_objects):
    if not os.access(harness.REDIS_SERVER, os.X_OK):
        pytest.skip("redis-server not installed (Debian package redis-server)")
    made = []

    def make(name=None, **kwargs):
        name = name or f"redis{len(made) + 1}"
        r = harness.RedisServer(tmp_path / name, name=name, **kwargs)
        made.append(r)
        _harness_objects.append(r)
        return r.start()

    yield make
    for r in reversed(made):
        r.stop()


@pytest.fixture
def redis(redis_factory):
    return redis_factory(name="redis")


def config(redis, greylist=None, redis_conf=None, rules=False, **sections):
    conf = {
        "server": {"xforward_from": "127.0.0.0/8", "client_name_lookup": False},
        "rules": {"enabled": False} if not rules else {"paths": str(TOP / "rules")},
        "redis": {"address": redis.endpoint, "reconnect_min": "200ms",
                  "reconnect_max": "1s", **(redis_conf or {})},
        "greylist": {"enabled": True, "delay": f"{DELAY}s", "whitelist_file": str(WHITELIST),
                     **(greylist or {})},
        "log": {"level": "info"},
    }
    for k, v in sections.items():
        conf.setdefault(k, {}).update(v)
    return conf


def session(md, client_ip=None, name=None, helo="client.example.org"):
    """A raw client; with client_ip, an authorized upstream's XFORWARD."""
    c = RawClient(md.host, md.port)
    code, _ = c.reply()
    assert code == 220
    code, lines = c.cmd(f"EHLO {helo}")
    assert code == 250, lines
    if client_ip is not None:
        attrs = f"ADDR={client_ip}" + (f" NAME={name}" if name else " NAME=[UNAVAILABLE]")
        code, lines = c.cmd(f"XFORWARD {attrs}")
        assert code == 250, lines
    return c


def message(subject="greylist test", extra=""):
    return (f"From: <a@example.org>\r\nTo: <b@example.com>\r\nSubject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 12:00:00 +0000\r\nMessage-ID: <{time.time()}@example.org>\r\n"
            f"{extra}\r\nHello.\r\n")


def attempt(md, rcpts, sender="a@example.org", client_ip=None, name=None, body=None):
    """One transaction: MAIL, each RCPT, DATA if any recipient was taken.
    Returns ({rcpt: (code, text)}, (code, text) of the end of data or None)."""
    with session(md, client_ip, name) as c:
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        out = {}
        for r in rcpts:
            code, lines = c.cmd(f"RCPT TO:<{r}>")
            out[r] = (code, lines[-1])
        final = None
        if any(code == 250 for code, _ in out.values()):
            code, lines = c.cmd("DATA")
            assert code == 354, lines
            c.send((body or message()).encode() + b".\r\n")
            code, lines = c.reply()
            final = (code, lines[-1])
        c.cmd("QUIT")
        return out, final


def assert_greylisted(reply, early=False):
    code, text = reply
    assert code == 451, reply
    assert text.startswith("4.7.1 "), reply
    m = (REPLY_EARLY if early else REPLY_NEW).match(text[6:])
    assert m, f"unexpected reply text {text!r}"
    return int(m.group(1))


def summaries_with(md, symbol, since=0):
    return [s for s in md.summary_lines(since) if symbol in s.get("symbols", "")]


# --- the classic path through a real Postfix -------------------------------------


def test_first_attempt_early_retry_then_delivered_through_postfix(redis, postfix,
                                                                 mxmoatd_factory):
    md = mxmoatd_factory(config(redis, {"whitelist_recipients": "postmaster@"}),
                         downstream=postfix)
    rcpt = "grey@example.com"
    with smtplib.SMTP(md.host, md.port, timeout=10) as s:
        s.ehlo("client.example.org")
        s.mail("sender@example.org")
        code, text = s.rcpt(rcpt)
        assert code == 451
        assert REPLY_NEW.match(text.decode()[6:]), text
        assert text.decode().startswith("4.7.1 ")
        assert int(REPLY_NEW.match(text.decode()[6:]).group(1)) == DELAY
        # a whitelisted recipient in the same transaction is taken, and the
        # greylisted one never reaches the downstream's DATA (replay)
        code, _ = s.rcpt("postmaster@example.com")
        assert code == 250
        code, _ = s.data(message())
        assert code == 250
    postfix.sink.wait_messages(1, timeout=20)
    assert postfix.sink.messages()[0].rcpts == ["postmaster@example.com"]

    # an early retry is refused again, with the time left
    with smtplib.SMTP(md.host, md.port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("sender@example.org", [rcpt], message())
        code, text = e.value.recipients[rcpt]
        assert code == 451
        left = int(REPLY_EARLY.match(text.decode()[6:]).group(1))
        assert 1 <= left <= DELAY
    # its summary line says greylist (as the metrics and the history do),
    # with the 451 as the reply, not the RSET's 250
    grey = md.wait_summaries(2)[1]
    assert (grey["action"], grey["reason"]) == ("greylist", "greylist"), grey
    assert grey["reply"].startswith("451 4.7.1 "), grey

    time.sleep(DELAY + 1.2)
    with smtplib.SMTP(md.host, md.port, timeout=10) as s:
        refused = s.sendmail("sender@example.org", [rcpt], message("the retry"))
        assert refused == {}
    msgs = postfix.sink.wait_messages(2, timeout=20)
    retried = [m for m in msgs if m.header("Subject") == "the retry"]
    assert len(retried) == 1 and retried[0].rcpts == [rcpt]
    last = md.summary_lines()[-1]
    assert last["action"] == "accept"
    assert "GREYLIST_PASS" in last["symbols"]
    assert md.log_count(r"event=greylist result=new ") == 1
    assert md.log_count(r"event=greylist result=early ") == 1
    assert md.log_count(r"event=greylist result=pass ") == 1
    # every key has the prefix and a TTL
    r = redis.client()
    keys = r.keys("*")
    assert keys and all(k.startswith("mxmoat:gl:") for k in keys), keys
    assert all(r.pttl(k) > 0 for k in keys)


def test_retry_after_the_window_starts_over(redis, sink, mxmoatd_factory):
    """A retry later than retry_window is a first attempt again; a pass is
    remembered for expire (the key's TTL)."""
    md = mxmoatd_factory(config(redis, {"delay": "1s", "retry_window": "2500ms",
                                        "expire": "1h", "cache_ttl": 0}), downstream=sink)
    out, _ = attempt(md, ["late@example.com"], client_ip="198.51.100.30")
    assert_greylisted(out["late@example.com"])
    r = redis.client()
    (key,) = r.keys("mxmoat:gl:t:*")
    assert 0 < r.pttl(key) <= 2500
    time.sleep(3.2)
    out, _ = attempt(md, ["late@example.com"], client_ip="198.51.100.30")
    assert_greylisted(out["late@example.com"])  # new, not early
    time.sleep(1.2)
    out, final = attempt(md, ["late@example.com"], client_ip="198.51.100.30")
    assert out["late@example.com"][0] == 250 and final[0] == 250
    assert 3500 * 1000 < r.pttl(key) <= 3600 * 1000
    assert md.log_count(r"result=new ") == 2 and md.log_count(r"result=pass ") == 1


def test_passed_triplet_is_remembered_and_sender_tags_are_folded(redis, sink,
                                                                 mxmoatd_factory):
    """BATV/SRS/+detail/VERP numbers change per message: they must not make
    a retry a new triplet."""
    md = mxmoatd_factory(config(redis, {"delay": "1s"}), downstream=sink)
    out, _ = attempt(md, ["x@example.com"], sender="prvs=1234abcdef=news+tag1@example.org",
                     client_ip="198.51.100.20")
    assert_greylisted(out["x@example.com"])
    time.sleep(2.2)
    out, final = attempt(md, ["X@Example.COM"], sender="prvs=9876fedcba=News+tag2@example.org",
                         client_ip="198.51.100.21")
    assert out["X@Example.COM"][0] == 250 and final[0] == 250
    # known now: passes at once, from the same network
    out, final = attempt(md, ["x@example.com"], sender="news@example.org",
                         client_ip="198.51.100.250")
    assert out["x@example.com"][0] == 250
    assert "GREYLIST_KNOWN" in md.summary_lines()[-1]["symbols"]
    # SRS and VERP
    srs1 = "SRS0=HHH=TT=example.net=owner-12345@forwarder.example"
    srs2 = "SRS0=JJJ=UU=example.net=owner-67890@forwarder.example"
    out, _ = attempt(md, ["y@example.com"], sender=srs1, client_ip="198.51.100.20")
    assert_greylisted(out["y@example.com"])
    time.sleep(2.2)
    out, _ = attempt(md, ["y@example.com"], sender=srs2, client_ip="198.51.100.20")
    assert out["y@example.com"][0] == 250


def test_auto_whitelist_after_n_passes(redis, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(redis, {"delay": "1s", "auto_whitelist": 2}), downstream=sink)
    ip = "203.0.113.9"
    # pass 1: two recipients in one transaction count as one message
    out, _ = attempt(md, ["a1@example.com", "a2@example.com"], client_ip=ip)
    assert all(code == 451 for code, _ in out.values())
    time.sleep(2.2)
    out, final = attempt(md, ["a1@example.com", "a2@example.com"], client_ip=ip)
    assert all(code == 250 for code, _ in out.values()) and final[0] == 250
    # not yet whitelisted: a new triplet is still greylisted
    out, _ = attempt(md, ["b@example.com"], client_ip=ip)
    assert_greylisted(out["b@example.com"])
    time.sleep(2.2)
    out, _ = attempt(md, ["b@example.com"], client_ip=ip)
    assert out["b@example.com"][0] == 250
    # two messages passed: the client's network is whitelisted
    out, final = attempt(md, ["c@example.com"], sender="other@example.net", client_ip="203.0.113.77")
    assert out["c@example.com"][0] == 250 and final[0] == 250
    assert "GREYLIST_AWL" in md.summary_lines()[-1]["symbols"]
    # another network is not
    out, _ = attempt(md, ["c@example.com"], client_ip="203.0.114.9")
    assert_greylisted(out["c@example.com"])


def test_whitelisted_clients_senders_recipients_pass_at_once(redis, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(redis, {"whitelist_clients": "192.0.2.0/24, 2001:db8:aa::/48",
                                        "whitelist_senders": "partner.example",
                                        "whitelist_recipients": "abuse@, @open.example"}),
                         downstream=sink)
    cases = [
        dict(client_ip="192.0.2.200"),
        dict(client_ip="IPV6:2001:db8:aa:1::5"),
        dict(client_ip="198.51.100.5", sender="bob@mail.partner.example"),
        dict(client_ip="198.51.100.5", rcpt="abuse@example.com"),
        dict(client_ip="198.51.100.5", rcpt="anyone@sub.open.example"),
        # the shipped list: a network, and a verified name under a domain
        dict(client_ip="209.85.220.41"),
        dict(client_ip="198.51.100.99", name="mail-ed1-f41.google.com"),
    ]
    for i, case in enumerate(cases):
        rcpt = case.get("rcpt", f"user{i}@example.com")
        mark = md.log_mark()
        out, final = attempt(md, [rcpt], sender=case.get("sender", "a@example.org"),
                             client_ip=case["client_ip"], name=case.get("name"))
        assert out[rcpt][0] == 250, (case, out)
        assert final[0] == 250
        assert "GREYLIST_WHITELIST" in md.wait_summaries(1, since=mark)[-1]["symbols"], case
    # and the others are greylisted
    out, _ = attempt(md, ["user@example.com"], client_ip="198.51.100.5")
    assert_greylisted(out["user@example.com"])
    # a domain entry needs a verified name: [UNAVAILABLE] does not match
    out, _ = attempt(md, ["user@example.com"], client_ip="198.51.99.6",
                     name="[UNAVAILABLE]")
    assert_greylisted(out["user@example.com"])
    assert sink.count() == len(cases)


def test_ipv6_clients_are_keyed_by_their_64(redis, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(redis, {"delay": "1s"}), downstream=sink)
    rcpt = "six@example.com"
    out, _ = attempt(md, [rcpt], client_ip="IPV6:2001:db8:1:2::10")
    assert_greylisted(out[rcpt])
    time.sleep(2.2)
    # another address of the same /64 retries: passes
    out, final = attempt(md, [rcpt], client_ip="IPV6:2001:db8:1:2:ffff:eeee:dddd:99")
    assert out[rcpt][0] == 250 and final[0] == 250
    assert "GREYLIST_PASS" in md.summary_lines()[-1]["symbols"]
    # the next /64 is another client
    out, _ = attempt(md, [rcpt], client_ip="IPV6:2001:db8:1:3::10")
    assert_greylisted(out[rcpt])
    assert md.log_count(r"key=net:2001:db8:1:2::/64") >= 2
    assert md.log_count(r"key=net:2001:db8:1:3::/64") == 1


def test_masks_are_configurable(redis, sink, mxmoatd_factory):
    """ipv4_mask / ipv6_mask: a wider network is one client."""
    md = mxmoatd_factory(config(redis, {"delay": "1s", "ipv4_mask": 16, "ipv6_mask": 48}),
                         downstream=sink)
    out, _ = attempt(md, ["m4@example.com"], client_ip="203.0.113.5")
    assert_greylisted(out["m4@example.com"])
    out, _ = attempt(md, ["m6@example.com"], client_ip="IPV6:2001:db8:1:2::10")
    assert_greylisted(out["m6@example.com"])
    time.sleep(2.2)
    # other /24s and /64s of the same /16 and /48 retry: they pass
    out, final = attempt(md, ["m4@example.com"], client_ip="203.0.200.9")
    assert out["m4@example.com"][0] == 250 and final[0] == 250
    out, final = attempt(md, ["m6@example.com"], client_ip="IPV6:2001:db8:1:ff::1")
    assert out["m6@example.com"][0] == 250 and final[0] == 250
    assert md.log_count(r"result=pass .*key=net:203\.0\.0\.0/16") == 1
    assert md.log_count(r"result=pass .*key=net:2001:db8:1::/48") == 1
    # outside them: new clients
    out, _ = attempt(md, ["m4@example.com"], client_ip="203.1.113.5")
    assert_greylisted(out["m4@example.com"])
    out, _ = attempt(md, ["m6@example.com"], client_ip="IPV6:2001:db8:2:2::10")
    assert_greylisted(out["m6@example.com"])


def test_rdns_pool_senders_retry_from_other_addresses(redis, sink, mxmoatd_factory):
    """A sender with forward-confirmed names retries from another network:
    keyed by its organisational domain it passes; a dynamic-looking name
    keeps the network key."""
    md = mxmoatd_factory(config(redis, {"delay": "1s"}), downstream=sink)
    out, _ = attempt(md, ["p@example.com"], client_ip="203.0.113.5",
                     name="out-1.mta.bigmail.example")
    assert_greylisted(out["p@example.com"])
    time.sleep(2.2)
    out, final = attempt(md, ["p@example.com"], client_ip="198.51.100.9",
                         name="out-7.mta.bigmail.example")
    assert out["p@example.com"][0] == 250 and final[0] == 250
    assert md.log_count(r"key=dns:bigmail.example") == 2
    out, _ = attempt(md, ["q@example.com"], client_ip="203.0.113.5",
                     name="203-0-113-5.dsl.isp.example")
    assert_greylisted(out["q@example.com"])
    assert md.log_count(r"key=net:203.0.113.0/24") == 1


# --- who is never greylisted ------------------------------------------------------


def test_trusted_networks_are_never_greylisted(redis, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(redis, scan={"trusted_networks": "198.51.100.0/24, 2001:db8:7::/48"}),
                         downstream=sink)
    for ip in ("198.51.100.7", "IPV6:2001:db8:7:1::25"):
        mark = md.log_mark()
        out, final = attempt(md, ["t@example.com"], client_ip=ip)
        assert out["t@example.com"][0] == 250 and final[0] == 250, (ip, out)
        last = md.wait_summaries(1, since=mark)[-1]
        assert "GREYLIST" not in last.get("symbols", ""), last
    assert md.log_count(r"event=greylist ") == 0
    assert redis.client().dbsize() == 0
    out, _ = attempt(md, ["t@example.com"], client_ip="198.51.101.7")
    assert_greylisted(out["t@example.com"])
    assert sink.count() == 2


@pytest.mark.skipif(not shutil.which("saslpasswd2"),
                    reason="needs sasl2-bin and libsasl2-modules-db")
def test_authenticated_clients_are_never_greylisted(redis, sasl_postfix, cert, mxmoatd_factory):
    """AUTH relayed to a real Postfix with Cyrus SASL (test_auth.py): the
    same new triplet is greylisted without AUTH and delivered with it."""
    md = mxmoatd_factory(config(redis, tls={"cert": str(cert[0]), "key": str(cert[1])},
                                server={"client_name_lookup": False,
                                        "hostname": "mx.mxmoat.test"}),
                         downstream=sasl_postfix)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(md.host, md.port, timeout=10) as s:
        s.ehlo("client.example.org")
        s.starttls(context=ctx)
        s.ehlo("client.example.org")
        s.mail("alice@example.org")
        code, text = s.rcpt("bob@example.net")
        assert code == 451 and REPLY_NEW.match(text.decode()[6:]), text
    keys = redis.client().dbsize()
    mark = md.log_mark()
    with smtplib.SMTP(md.host, md.port, timeout=10) as s:
        s.ehlo("client.example.org")
        s.starttls(context=ctx)
        s.ehlo("client.example.org")
        assert s.login("alice@example.org", "s3cret-pw")[0] == 235
        assert s.sendmail("alice@example.org", ["bob@example.net", "carol@example.net"],
                          message("authenticated")) == {}
    msgs = sasl_postfix.sink.wait_messages(1, timeout=20)
    assert sorted(msgs[0].rcpts) == ["bob@example.net", "carol@example.net"]
    last = md.wait_summaries(1, since=mark)[-1]
    assert last["action"] == "accept" and "GREYLIST" not in last.get("symbols", ""), last
    assert md.log_count(r"event=greylist ", since=mark) == 0
    assert redis.client().dbsize() == keys


# --- data stage -------------------------------------------------------------------

MID = ("From: <a@example.org>\r\nTo: <b@example.com>\r\nSubject: no date, no id\r\n"
       "\r\nHello.\r\n")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def test_data_stage_greylists_only_mid_score_mail(redis, postfix, mxmoatd_factory):
    md = mxmoatd_factory(config(redis, {"stage": "data", "delay": "1s", "data_min_score": 1,
                                        "data_max_score": 5}, rules=True), downstream=postfix)
    # RCPT is not greylisted at this stage
    out, final = attempt(md, ["clean@example.com"], body=message("clean"))
    assert out["clean@example.com"][0] == 250
    assert final[0] == 250, final
    assert "GREYLIST" not in md.summary_lines()[-1].get("symbols", "")

    out, final = attempt(md, ["mid@example.com", "mid2@example.com"], body=MID)
    assert out["mid@example.com"][0] == 250
    assert final[0] == 451, final
    assert REPLY_NEW.match(final[1][6:]), final
    last = md.summary_lines()[-1]
    assert last["action"] == "greylist" and 1 <= float(last["score"]) < 5, last

    out, final = attempt(md, ["spam@example.com"], body=message("spam") + GTUBE + "\r\n")
    assert final[0] == 550, final
    assert "GREYLIST" not in md.summary_lines()[-1].get("symbols", "")

    time.sleep(2.2)
    # the same message to the same recipients (in another order) passes
    out, final = attempt(md, ["mid2@example.com", "mid@example.com"], body=MID)
    assert final[0] == 250, final
    assert "GREYLIST_PASS" in md.summary_lines()[-1]["symbols"]
    msgs = postfix.sink.wait_messages(2, timeout=20)
    assert sorted(msgs[-1].rcpts) == ["mid2@example.com", "mid@example.com"]


# --- Redis trouble ----------------------------------------------------------------


def test_redis_killed_mail_flows_and_greylisting_resumes(redis, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(redis), downstream=sink)
    out, _ = attempt(md, ["k1@example.com"], client_ip="198.51.100.1")
    assert_greylisted(out["k1@example.com"])
    redis.kill()
    mark = md.log_mark()
    delivered = 0
    for i in range(8):
        t0 = time.monotonic()
        out, final = attempt(md, [f"down{i}@example.com"], client_ip="198.51.100.1")
        assert out[f"down{i}@example.com"][0] == 250, out
        assert final[0] == 250, final
        assert time.monotonic() - t0 < 2
        delivered += 1
    sink.wait_messages(delivered)
    assert all("GREYLIST_SKIP" in s["symbols"] for s in md.summary_lines(mark))
    md.wait_log(r"event=redis_down redis=127\.0\.0\.1:\d+ error=", since=mark)
    # logged once, not once per message
    assert md.log_count(r"event=redis_down", since=mark) == 1
    assert md.log_count(r"event=plugin_error", since=mark) == 0

    redis.start()  # same port, empty (no persistence)
    mark = md.log_mark()
    deadline = time.monotonic() + 10
    while True:
        out, _ = attempt(md, ["back@example.com"], client_ip="198.51.100.1")
        if out["back@example.com"][0] == 451:
            break
        assert time.monotonic() < deadline, "greylisting did not resume"
        time.sleep(0.3)
    assert_greylisted(out["back@example.com"])
    md.wait_log(r"event=redis_up ", since=mark)
    assert redis.client().dbsize() >= 1


def metrics(md):
    with urllib.request.urlopen(md.http_url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^(mxmoat_redis_\w+\{user="greylist"\}) (\S+)$', text, re.M)}


def test_redis_killed_under_load_nothing_is_refused_for_it(redis, sink, mxmoatd_factory):
    """Clients keep sending while Redis is killed (commands in flight) and
    started again: every reply is a delivery or a greylisting 451, never a
    failure of ours; the outage is counted in /metrics."""
    md = mxmoatd_factory(config(redis, {"cache_ttl": 0}), downstream=sink)
    stop = threading.Event()
    results, errors = [], []

    def client(n):
        i = 0
        try:
            while not stop.is_set():
                rcpt = f"load{n}-{i}@example.com"
                t = time.monotonic()
                out, final = attempt(md, [rcpt], client_ip=f"198.51.100.{100 + n}")
                results.append((t, out[rcpt], final, time.monotonic()))
                i += 1
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    t_kill = time.monotonic()
    redis.kill()
    time.sleep(2)
    down = metrics(md)
    t_start = time.monotonic()
    redis.start()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(20)
    assert not errors, errors
    assert len(results) > 30, len(results)
    for _, (code, text), final, _ in results:
        if code == 451:
            assert_greylisted((code, text))
            assert final is None
        else:
            assert code == 250 and final[0] == 250, (code, text, final)
    before = [r for r in results if r[3] < t_kill]
    during = [r for r in results if t_kill < r[0] and r[3] < t_start]
    after = [r for r in results if r[0] > t_start + 1.5]
    assert before and all(r[1][0] == 451 for r in before)
    assert during and all(r[1][0] == 250 for r in during)
    assert after and all(r[1][0] == 451 for r in after)
    assert sink.count() == sum(1 for r in results if r[1][0] == 250)
    assert down['mxmoat_redis_up{user="greylist"}'] == 0
    assert down['mxmoat_redis_errors_total{user="greylist"}'] >= 1
    assert metrics(md)['mxmoat_redis_up{user="greylist"}'] == 1
    assert md.log_count(r"event=redis_down") == 1
    assert md.log_count(r"event=plugin_error") == 0


def test_redis_slow_fails_open_within_the_timeout(redis, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(redis, redis_conf={"command_timeout": "200ms"}), downstream=sink)
    out, _ = attempt(md, ["s1@example.com"], client_ip="198.51.100.2")
    assert_greylisted(out["s1@example.com"])
    # that transaction's summary line first (it may follow the client's QUIT)
    md.wait_summaries(1)
    redis.pause(4000)
    mark = md.log_mark()
    t_end = time.monotonic() + 3
    n = 0
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        out, final = attempt(md, [f"slow{n}@example.com"], client_ip="198.51.100.2")
        took = time.monotonic() - t0
        assert out[f"slow{n}@example.com"][0] == 250 and final[0] == 250
        assert took < 1.5, took  # one command timeout at most, then fail fast
        n += 1
    assert n >= 3
    assert all("GREYLIST_SKIP" in s["symbols"] for s in md.summary_lines(mark))
    md.wait_log(r"event=redis_down .*error=", since=mark)
    time.sleep(1.5)  # the pause is over
    deadline = time.monotonic() + 10
    while True:
        out, _ = attempt(md, ["after@example.com"], client_ip="198.51.100.2")
        if out["after@example.com"][0] == 451:
            break
        assert time.monotonic() < deadline, "greylisting did not resume after the pause"
        time.sleep(0.3)
    md.wait_log(r"event=redis_up ", since=mark)


def test_redis_failure_tempfail_policy(redis, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(redis, {"redis_failure": "tempfail"}), downstream=sink)
    redis.kill()
    out, final = attempt(md, ["t@example.com"], client_ip="198.51.100.3")
    code, text = out["t@example.com"]
    assert code == 451 and text.startswith("4.7.1 "), out
    assert final is None


def test_redis_password_database_and_unix_socket(redis_factory, sink, mxmoatd_factory,
                                                 tmp_path):
    sock = tmp_path / "redis.sock"
    # 777: mxmoatd runs as nobody after binding (it refuses to run as root);
    # the password is what guards this socket
    r = redis_factory(name="redis-auth", args=["--requirepass", "s3cret", "--unixsocket",
                                                str(sock), "--unixsocketperm", "777"])
    md = mxmoatd_factory(config(r, redis_conf={"address": f"unix:{sock}", "password": "s3cret",
                                               "database": 3, "prefix": "site1:"}),
                         downstream=sink)
    out, _ = attempt(md, ["u@example.com"], client_ip="198.51.100.4")
    assert_greylisted(out["u@example.com"])
    c = r.client(password="s3cret", db=3)
    keys = c.keys("*")
    assert len(keys) == 1 and keys[0].startswith("site1:gl:t:"), keys
    assert r.client(password="s3cret", db=0).dbsize() == 0


def test_sentinel_finds_the_primary_and_follows_a_failover(redis_factory, sink,
                                                           mxmoatd_factory):
    primary = redis_factory(name="primary")
    replica = redis_factory(name="replica", args=["--replicaof", primary.host, str(primary.port)])
    sentinel = redis_factory(name="sentinel", sentinel=True, sentinel_conf=[
        f"sentinel monitor gl {primary.host} {primary.port} 1",
        "sentinel down-after-milliseconds gl 1000",
        "sentinel failover-timeout gl 5000",
    ])
    md = mxmoatd_factory(config(primary, redis_conf={"sentinels": sentinel.endpoint,
                                                     "sentinel_master": "gl",
                                                     "address": "127.0.0.1:1"},
                                greylist={"delay": "1s"}),
                         downstream=sink)
    out, _ = attempt(md, ["f@example.com"], client_ip="198.51.100.8")
    assert_greylisted(out["f@example.com"])
    assert primary.client().dbsize() == 1
    harness.wait_until(lambda: replica.client().dbsize() == 1, 10, what="replication")
    primary.kill()
    # sentinel promotes the replica; greylisting goes on with the state
    # that was replicated: the retry passes
    harness.wait_until(lambda: replica.client().execute_command("ROLE")[0] == "master", 30,
                       interval=0.2, what="failover")
    time.sleep(1.2)
    deadline = time.monotonic() + 15
    while True:
        mark = md.log_mark()
        out, final = attempt(md, ["f@example.com"], client_ip="198.51.100.8")
        assert out["f@example.com"][0] == 250, out
        if "GREYLIST_PASS" in md.wait_summaries(1, since=mark)[-1]["symbols"]:
            break
        assert time.monotonic() < deadline, "no decision from the new primary"
        time.sleep(0.3)


def test_passes_are_cached_on_the_node(redis, sink, mxmoatd_factory):
    """A known triplet and an auto-whitelisted client are answered from
    the node's memory for cache_ttl: no Redis round trip, even with Redis
    gone; a greylisted triplet is never cached."""
    md = mxmoatd_factory(config(redis, {"delay": "1s", "cache_ttl": "3s"}), downstream=sink)
    out, _ = attempt(md, ["m@example.com"], client_ip="198.51.100.60")
    assert_greylisted(out["m@example.com"])
    time.sleep(2.2)
    out, _ = attempt(md, ["m@example.com"], client_ip="198.51.100.60")
    assert out["m@example.com"][0] == 250
    calls = redis.client().info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    redis.kill()
    mark = md.log_mark()
    for _ in range(3):
        out, final = attempt(md, ["m@example.com"], client_ip="198.51.100.60")
        assert out["m@example.com"][0] == 250 and final[0] == 250
    assert all("GREYLIST_KNOWN" in s["symbols"] for s in md.summary_lines(mark))
    assert md.log_count(r"event=redis_down", since=mark) == 0
    # a new triplet needs Redis: skipped (fail open) while it is away
    out, _ = attempt(md, ["n@example.com"], client_ip="198.51.100.60")
    assert out["n@example.com"][0] == 250
    assert "GREYLIST_SKIP" in md.summary_lines()[-1]["symbols"]
    # after cache_ttl the known triplet asks Redis again
    time.sleep(3.2)
    out, _ = attempt(md, ["m@example.com"], client_ip="198.51.100.60")
    assert out["m@example.com"][0] == 250
    assert "GREYLIST_SKIP" in md.summary_lines()[-1]["symbols"]
    assert calls >= 1


def test_known_and_whitelisted_answered_while_workers_wait_on_redis(redis, sink,
                                                                   mxmoatd_factory):
    """Cache hits and static whitelists are answered on the event loop: with
    the only scan worker stuck on a paused Redis, they do not wait for it."""
    md = mxmoatd_factory(config(redis, {"delay": "1s", "whitelist_clients": "192.0.2.0/24"},
                                redis_conf={"command_timeout": "2500ms"}, scan={"workers": 1}),
                         downstream=sink)
    out, _ = attempt(md, ["w@example.com"], client_ip="198.51.100.70")
    assert_greylisted(out["w@example.com"])
    time.sleep(2.2)
    out, _ = attempt(md, ["w@example.com"], client_ip="198.51.100.70")
    assert out["w@example.com"][0] == 250  # passed: cached on the node
    redis.pause(4000)
    stuck = {}

    def new_triplet():
        t0 = time.monotonic()
        stuck["out"], stuck["final"] = attempt(md, ["new@example.com"],
                                               client_ip="198.51.100.71")
        stuck["took"] = time.monotonic() - t0

    t = threading.Thread(target=new_triplet)
    t.start()
    time.sleep(0.5)  # its RCPT holds the worker now
    for ip, rcpt, symbol in (("198.51.100.70", "w@example.com", "GREYLIST_KNOWN"),
                             ("192.0.2.9", "any@example.com", "GREYLIST_WHITELIST")):
        mark = md.log_mark()
        with session(md, ip) as c:
            assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
            t0 = time.monotonic()
            code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
            took = time.monotonic() - t0
            assert code == 250, lines
            c.cmd("QUIT")  # (DATA would wait for the worker: the message is scanned)
        assert took < 1.0, (symbol, took)
        assert symbol in md.wait_summaries(1, since=mark)[-1]["symbols"]
    assert t.is_alive()  # both were answered while the worker waited
    t.join(15)
    assert stuck["took"] > 2, stuck  # it did wait on Redis (then failed open)
    assert stuck["out"]["new@example.com"][0] == 250


# --- mxmoat greylist --------------------------------------------------------------


def mxmoat(*args):
    binary = harness.mxmoatd_binary().parent / "mxmoat"
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          timeout=30)


def test_cli_list_whitelist_drop(redis, sink, mxmoatd_factory):
    # no cache: a drop is to take effect at once on this node
    md = mxmoatd_factory(config(redis, {"cache_ttl": 0}), downstream=sink)
    conf = md.conf_path
    out, _ = attempt(md, ["c@example.com"], sender="s@example.org", client_ip="198.51.100.44")
    assert_greylisted(out["c@example.com"])

    r = mxmoat("greylist", "-c", conf, "list")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^triplet +mxmoat:gl:t:\S{22} pending passes=0 ", r.stdout, re.M), r.stdout
    assert "1 triplets pending, 0 passed, 0 clients auto-whitelisted" in r.stdout

    r = mxmoat("greylist", "-c", conf, "list", "--client", "198.51.100.44", "--from",
               "s@example.org", "--rcpt", "c@example.com")
    assert r.returncode == 0, r.stderr
    assert "client key: net:198.51.100.0/24" in r.stdout
    assert "static whitelist: no" in r.stdout
    assert re.search(r"^triplet .* pending ", r.stdout, re.M), r.stdout

    # whitelist the client's network by hand: every node passes it at once
    r = mxmoat("greylist", "-c", conf, "whitelist", "--client", "198.51.100.1", "--ttl", "1h")
    assert r.returncode == 0, r.stderr
    out, final = attempt(md, ["other@example.com"], client_ip="198.51.100.45")
    assert out["other@example.com"][0] == 250 and final[0] == 250
    assert "GREYLIST_AWL" in md.summary_lines()[-1]["symbols"]
    r = mxmoat("greylist", "-c", conf, "list")
    assert re.search(r"^whitelist mxmoat:gl:a:\S+ manual client=net:198.51.100.0/24 ttl=(59m59s|1h0m)$",
                     r.stdout, re.M), r.stdout

    r = mxmoat("greylist", "-c", conf, "drop", "--client", "198.51.100.1")
    assert r.returncode == 0 and "dropped: 1" in r.stdout, r.stdout + r.stderr
    out, _ = attempt(md, ["other2@example.com"], client_ip="198.51.100.45")
    assert_greylisted(out["other2@example.com"])

    # let one triplet through now
    r = mxmoat("greylist", "-c", conf, "whitelist", "--client", "198.51.100.44", "--from",
               "s@example.org", "--rcpt", "c@example.com")
    assert r.returncode == 0, r.stderr
    out, _ = attempt(md, ["c@example.com"], sender="s@example.org", client_ip="198.51.100.44")
    assert out["c@example.com"][0] == 250
    assert "GREYLIST_KNOWN" in md.summary_lines()[-1]["symbols"]

    r = mxmoat("greylist", "-c", conf, "drop", "--all")
    assert r.returncode == 0 and re.search(r"dropped [1-9]\d* keys", r.stdout), r.stdout
    assert redis.client().dbsize() == 0

    redis.kill()
    r = mxmoat("greylist", "-c", conf, "list")
    assert r.returncode == 1 and "redis" in r.stderr


def test_reload_switches_greylisting_off_and_on(redis, sink, mxmoatd_factory):
    md = mxmoatd_factory(config(redis), downstream=sink)
    out, _ = attempt(md, ["r@example.com"], client_ip="198.51.100.50")
    assert_greylisted(out["r@example.com"])
    md.config["greylist"]["enabled"] = False
    md.reload(wait_for=r"event=reload status=ok")
    out, final = attempt(md, ["r@example.com"], client_ip="198.51.100.50")
    assert out["r@example.com"][0] == 250 and final[0] == 250
    md.config["greylist"]["enabled"] = True
    md.config["greylist"]["delay"] = "20x"
    md.reload(wait_for=r"event=reload status=failed")
    out, final = attempt(md, ["r2@example.com"], client_ip="198.51.100.50")
    assert out["r2@example.com"][0] == 250
