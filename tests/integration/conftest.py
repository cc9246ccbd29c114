"""Fixtures of mxmoat's integration tests (see harness.py for the classes).

  sink              an SmtpSink on 127.0.0.1:<free port>, started
  sink_factory      sink_factory(options=(), name=..., **SmtpSink kwargs)
  postfix           a PrivatePostfix relaying to its own SmtpSink (postfix.sink)
  postfix_factory   postfix_factory(relay_to=<new sink>, name=..., **kwargs)
  mxmoatd_factory   mxmoatd_factory(config, **Mxmoatd kwargs) -> started Mxmoatd

Everything a fixture starts is stopped at teardown, also when the test
fails; a failing test's report carries the tail of every log involved.
Skips: without root, or without smtp-sink/postfix installed, the fixtures
skip with the reason. A missing mxmoatd skips only while MXMOAT_TOP_BUILDDIR
is unset (a bare pytest run in an unbuilt tree); under `make check` it is
an error.
"""

import os
import re
import signal
from pathlib import Path

import pytest

import harness


def pytest_configure(config):
    harness.become_subreaper()
    config.addinivalue_line("markers", "root: the test needs root (skipped otherwise)")

    # make check's timeouts and kill(1) send SIGTERM: turn it into an
    # interrupt so that fixture finalizers stop the daemons.
    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)


def pytest_unconfigure(config):
    harness.stop_all()


def pytest_runtest_setup(item):
    if item.get_closest_marker("root") and os.geteuid() != 0:
        pytest.skip("needs root (private Postfix instances, smtp-sink -u nobody)")


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    harness.reap_orphans()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for obj in getattr(item, "_harness_objects", []):
        text = obj.log_text()
        if text:
            tail = "\n".join(text.splitlines()[-60:])
            report.sections.append((f"{obj.name} log ({obj.log_path})", tail))


@pytest.fixture
def _harness_objects(request):
    objs = []
    request.node._harness_objects = objs
    return objs


def _need_root(what):
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root")


def _need_file(path, package):
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} not installed (Debian package {package})")


@pytest.fixture
def sink_factory(tmp_path, _harness_objects):
    made = []

    def make(options=(), *, name=None, **kwargs):
        _need_file(harness.SMTP_SINK, "postfix")
        name = name or f"sink{len(made) + 1}"
        sink = harness.SmtpSink(tmp_path / name, options, name=name, **kwargs)
        made.append(sink)
        _harness_objects.append(sink)
        return sink.start()

    yield make
    for sink in reversed(made):
        sink.stop()


@pytest.fixture
def sink(sink_factory):
    return sink_factory(name="sink")


_DEFAULT = object()


@pytest.fixture
def postfix_factory(tmp_path, sink_factory, _harness_objects):
    made = []

    def make(relay_to=_DEFAULT, *, name=None, **kwargs):
        _need_root("a private Postfix instance")
        _need_file(harness.POSTFIX, "postfix")
        name = name or f"postfix{len(made) + 1}"
        if relay_to is _DEFAULT:
            relay_to = sink_factory(name=f"{name}-sink")
        pf = harness.PrivatePostfix(tmp_path / name, relay_to, name=name, **kwargs)
        made.append(pf)
        _harness_objects.append(pf)
        return pf.start()

    yield make
    for pf in reversed(made):
        pf.stop()


@pytest.fixture
def postfix(postfix_factory):
    """A PrivatePostfix relaying to its own SmtpSink, postfix.sink."""
    return postfix_factory(name="postfix")


_SANITIZER = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: ")


@pytest.fixture
def mxmoatd_factory(tmp_path, _harness_objects):
    """mxmoatd_factory(config, **kwargs) -> a started Mxmoatd.

    At teardown each daemon still running gets SIGTERM; the test errors if
    a daemon had exited on its own (not through md.stop()), did not exit 0
    on that SIGTERM, or logged a sanitizer report (set
    md.check_on_teardown = False in tests that crash it on purpose).
    """
    made = []

    def make(config=None, *, name=None, binary=None, **kwargs):
        path = Path(binary) if binary else harness.mxmoatd_binary()
        if not path.exists():
            if binary or os.environ.get("MXMOAT_TOP_BUILDDIR"):
                pytest.fail(f"mxmoatd not found at {path} "
                            f"(MXMOAT_TOP_BUILDDIR={os.environ.get('MXMOAT_TOP_BUILDDIR')})")
            pytest.skip(f"mxmoatd is not built ({path} missing; "
                        "run make, or set MXMOAT_TOP_BUILDDIR)")
        name = name or ("mxmoatd" if not made else f"mxmoatd{len(made) + 1}")
        md = harness.Mxmoatd(tmp_path / name, config, binary=path, name=name, **kwargs)
        made.append(md)
        _harness_objects.append(md)
        return md.start()

    yield make
    problems = []
    for md in reversed(made):
        if md.proc is None:
            continue
        stopped_by_test = md.stopped
        early = None if stopped_by_test else md.returncode
        status = md.stop()
        if not md.check_on_teardown:
            continue
        if early is not None:
            problems.append(f"{md.name} exited during the test with status {early}")
        elif not stopped_by_test and status != 0:
            problems.append(f"{md.name} exited with status {status} on SIGTERM")
        m = _SANITIZER.search(md.log_text())
        if m:
            problems.append(f"{md.name} logged a sanitizer report: {m.group(0)}")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
