"""harness - start and watch the real daemons of mxmoat's integration tests.

Everything here talks only to loopback addresses on ports chosen at run time,
lives in a per-test temporary directory, and stops every process it started
by that process's PID. Run it with Debian's /usr/bin/python3 (python3-pytest,
python3-aiosmtpd, python3-redis); the python3 first on PATH is another build.

Pieces (all usable without pytest; conftest.py wraps them in fixtures):

  free_port(), wait_port(), wait_listening(), is_listening(), wait_until()
  Proc          one child process, output to a log file, SIGTERM/SIGKILL stop
  SmtpSink      /usr/sbin/smtp-sink capturing each transaction to a file
  PrivatePostfix  a private Postfix (own config, queue and data directory)
  Mxmoatd       the daemon under test, started in the foreground
  parse_kv(), queue_id()  small parsers for log lines and SMTP replies

Processes that daemonize (Postfix's master and its children) are re-parented
to init when their parent exits. On this machine PID 1 never reaps them, so
they would stay as zombies; become_subreaper() (called by conftest.py) makes
the test process their reaper instead, and PrivatePostfix reaps them by PID.
"""

from __future__ import annotations

import atexit
import ctypes
import dataclasses
import email
import email.message
import email.policy
import os
import pwd
import re
import shlex
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence, Union

SMTP_SINK = "/usr/sbin/smtp-sink"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTFIX_DAEMON_DIR = "/usr/lib/postfix/sbin"
POSTFIX_SHLIB_DIR = "/usr/lib/postfix"
POSTFIX_META_DIR = "/etc/postfix"

REPO_ROOT = Path(__file__).resolve().parents[2]

StrPath = Union[str, os.PathLike]


# --- processes we must not leave behind ----------------------------------------

_LIVE: set = set()  # objects with a stop() method that are running now


def _register(obj) -> None:
    _LIVE.add(obj)


def _unregister(obj) -> None:
    _LIVE.discard(obj)


def stop_all() -> None:
    """Stop everything this module started and that is still running."""
    for obj in list(_LIVE):
        try:
            obj.stop()
        except Exception:  # noqa: BLE001 - last-resort cleanup, keep going
            pass
        _LIVE.discard(obj)
    reap_orphans()


atexit.register(stop_all)

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux).

    Postfix's master daemonizes; without this its processes end up as
    children of PID 1, which here never reaps them. Returns False if the
    call failed (processes then still stop, but may linger as zombies).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# --- /proc helpers -----------------------------------------------------------------


def _proc_stat(pid: int) -> Optional[tuple]:
    """(state, ppid, session) of pid, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (comm) state ppid pgrp session ..."; comm may contain anything.
    fields = data[data.rfind(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[3])


def pid_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie (a zombie holds no resources)."""
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _reap(pid: int) -> None:
    """Collect pid's exit status if it is our (possibly adopted) child."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def session_pids(sid: int, zombies: bool = False) -> list:
    """PIDs of the processes in session sid (zombies only if asked)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _proc_stat(int(name))
        if st is not None and st[2] == sid and (zombies or st[0] not in ("Z", "X")):
            pids.append(int(name))
    return pids


_SESSIONS: set = set()  # session ids of processes we started (reap_orphans)


def stop_session(sid: int, grace: float = 3.0, term: bool = True,
                 exclude: Iterable[int] = (), what: str = "") -> None:
    """Make every process of session sid exit, and reap those that are ours.

    term: send SIGTERM to the live members first. After grace seconds the
    survivors get SIGKILL. Zombies in the session whose parent is this
    process (children adopted through become_subreaper) are reaped, except
    the PIDs in exclude (children a subprocess.Popen will wait for).
    """
    exclude = set(exclude)
    deadline = time.monotonic() + grace
    killed_at = None
    signalled = not term
    while True:
        for pid in session_pids(sid, zombies=True):
            if pid not in exclude:
                _reap(pid)
        pids = [p for p in session_pids(sid) if p not in exclude]
        if not pids:
            for pid in session_pids(sid, zombies=True):
                if pid not in exclude:
                    _reap(pid)
            return
        now = time.monotonic()
        if not signalled or (killed_at is None and now >= deadline):
            sig = signal.SIGTERM if not signalled else signal.SIGKILL
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if signalled:
                killed_at = now
            signalled = True
        elif killed_at is not None and now - killed_at > 5.0:
            raise RuntimeError(f"{what or sid}: processes survive SIGKILL: {pids}")
        time.sleep(0.02)


def reap_orphans() -> None:
    """Reap zombie children of ours that belong to a session we started."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _proc_stat(int(name))
            if st and st[0] == "Z" and st[1] == me and st[2] in _SESSIONS \
                    and int(name) not in _SESSIONS:
                _reap(int(name))


def _open_files(pid: int) -> Optional[set]:
    """Paths pid has open, or None if /proc does not tell us."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except (FileNotFoundError, PermissionError):
        return None
    paths = set()
    for name in names:
        try:
            paths.add(os.readlink(os.path.join(fd_dir, name)))
        except OSError:
            pass
    return paths


# --- ports ------------------------------------------------------------------------

_handed_out: set = set()


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on host now (bind to port 0, then close).

    A port is never handed out twice by one process, so two daemons started
    in one test do not race for the same number. Another process can still
    grab it before our daemon binds; the classes below retry start-up with a
    new port when that happens.
    """
    for _ in range(100):
        with socket.socket(_family(host), socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("free_port: no unused port found")


def _proc_net_addr(host: str) -> str:
    """host as /proc/net/tcp{,6} prints it (32-bit words in host order)."""
    if ":" in host:
        words = struct.unpack("=4I", socket.inet_pton(socket.AF_INET6, host))
        return "".join("%08X" % w for w in words)
    return "%08X" % struct.unpack("=I", socket.inet_aton(host))[0]


def is_listening(host: str, port: int) -> bool:
    """True if a TCP socket listens on host:port (or the wildcard address).

    Reads /proc/net/tcp{,6}, so it opens no connection: the daemon logs no
    probe session.
    """
    v6 = ":" in host
    wanted = {_proc_net_addr(host), "0" * (32 if v6 else 8)}
    table = "/proc/net/tcp6" if v6 else "/proc/net/tcp"
    try:
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                addr, _, hexport = fields[1].partition(":")
                if fields[3] == "0A" and int(hexport, 16) == port and addr in wanted:
                    return True
    except FileNotFoundError:
        pass
    return False


def wait_until(predicate: Callable[[], object], timeout: float = 10.0,
               interval: float = 0.02, what: str = "condition",
               alive: Optional[Callable[[], bool]] = None,
               details: Optional[Callable[[], str]] = None):
    """Poll predicate until it returns a true value; return that value.

    alive: if given and it returns False, give up at once (the process we
    wait for died). details: text appended to the error message.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if alive is not None and not alive():
            value = predicate()  # it may have finished just before dying
            if value:
                return value
            extra = details() if details else ""
            raise RuntimeError(f"gave up waiting for {what}: process exited\n{extra}")
        if time.monotonic() >= deadline:
            extra = details() if details else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}\n{extra}")
        time.sleep(interval)


def wait_port(host: str, port: int, timeout: float = 10.0,
              alive: Optional[Callable[[], bool]] = None) -> None:
    """Wait until a TCP connection to host:port succeeds (then close it)."""

    def try_connect() -> bool:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            return False

    wait_until(try_connect, timeout, interval=0.05, what=f"{host}:{port} to accept",
               alive=alive)


def wait_listening(host: str, port: int, timeout: float = 10.0,
                   alive: Optional[Callable[[], bool]] = None,
                   details: Optional[Callable[[], str]] = None) -> None:
    """Wait until something listens on host:port, without connecting."""
    wait_until(lambda: is_listening(host, port), timeout,
               what=f"a listener on {host}:{port}", alive=alive, details=details)


def hostport(host: str, port: int) -> str:
    """'127.0.0.1:25' or '[::1]:25' (Postfix and mxmoat endpoint syntax)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def make_traversable(path: StrPath) -> None:
    """Give 'others' search (x) permission on path's ancestors that we own.

    pytest creates its temporary directories 0700; Postfix's daemons (user
    postfix) and smtp-sink (user nobody) must reach their directories below
    them. Only the x bit is added: nobody else can list the directories.
    """
    uid = os.geteuid()
    for p in [Path(path), *Path(path).parents]:
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        if st.st_uid == uid and (st.st_mode & 0o011) != 0o011:
            os.chmod(p, (st.st_mode & 0o7777) | 0o011)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --- log helpers -----------------------------------------------------------------


class _LogFile:
    """Mixin: a log file that grows; read it, mark a position, wait for a line."""

    log_path: Path

    def log_text(self) -> str:
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        """A position in the log; pass it as since= to look only at new lines."""
        return len(self.log_text())

    def _alive_for_wait(self) -> Optional[Callable[[], bool]]:
        return None

    def wait_log(self, regex: Union[str, re.Pattern], timeout: float = 10.0,
                 since: int = 0) -> re.Match:
        """Wait until regex (re.M) matches the log after position since."""
        pat = re.compile(regex, re.M) if isinstance(regex, str) else regex
        return wait_until(lambda: pat.search(self.log_text(), since), timeout,
                          what=f"/{pat.pattern}/ in {self.log_path}",
                          alive=self._alive_for_wait(),
                          details=lambda: "log tail:\n" + _tail(self.log_text()))

    def log_count(self, regex: str, since: int = 0) -> int:
        return len(re.findall(regex, self.log_text()[since:], re.M))


_KV = re.compile(r'([A-Za-z_][\w.\-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_kv(line: str) -> dict:
    """{key: value} of the key=value tokens in a log line.

    Values may be "double quoted" with \\" and \\\\ escapes; quotes are
    removed and those two escapes undone (other escapes such as \\r are
    left as written). Text that is not key=value is ignored.
    """
    out = {}
    for key, value in _KV.findall(line):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = re.sub(r'\\(["\\])', r"\1", value[1:-1])
        out[key] = value
    return out


def queue_id(reply: Union[bytes, str]) -> Optional[str]:
    """The queue id in a Postfix '250 2.0.0 Ok: queued as ABC123' reply."""
    if isinstance(reply, bytes):
        reply = reply.decode("ascii", "replace")
    m = re.search(r"queued as ([0-9A-Za-z]+)", reply)
    return m.group(1) if m else None


# --- Proc ------------------------------------------------------------------------


class Proc(_LogFile):
    """One child process with stdout and stderr appended to log_path.

    with Proc(["cmd", ...], tmp_path / "cmd.log") as p:
        p.wait_log(r"ready")
    # stopped: SIGTERM, wait, SIGKILL

    The child gets its own session (a Ctrl-C aimed at pytest does not hit
    it) and is only ever signalled by its PID.
    """

    def __init__(self, argv: Sequence[StrPath], log_path: StrPath, *,
                 env: Optional[Mapping[str, str]] = None, cwd: Optional[StrPath] = None,
                 name: Optional[str] = None):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.name = name or Path(self.argv[0]).name
        self.popen: Optional[subprocess.Popen] = None

    def start(self) -> "Proc":
        if self.popen is not None:
            raise RuntimeError(f"{self.name}: already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env, cwd=self.cwd, start_new_session=True)
        _SESSIONS.add(self.popen.pid)
        _register(self)
        return self

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name}: not started")
        return self.popen.pid

    @property
    def returncode(self) -> Optional[int]:
        """None while running; the exit status, or -N if killed by signal N."""
        return None if self.popen is None else self.popen.poll()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def _alive_for_wait(self):
        return self.alive

    def send_signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: Optional[float] = None) -> int:
        """Wait for the process to exit; return its status."""
        return self.popen.wait(timeout)

    def stop(self, timeout: float = 5.0, sig: int = signal.SIGTERM) -> Optional[int]:
        """Send sig (SIGTERM), wait up to timeout, then SIGKILL; return status."""
        if self.popen is None:
            return None
        try:
            if self.popen.poll() is None:
                try:
                    os.kill(self.popen.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.kill(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(10)
            # Children the command left behind (same session): stop them too.
            stop_session(self.popen.pid, grace=1.0, exclude=(self.popen.pid,),
                         what=self.name)
            return self.popen.returncode
        finally:
            _unregister(self)

    def __enter__(self) -> "Proc":
        if self.popen is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        pid = self.popen.pid if self.popen else None
        return f"<Proc {self.name} pid={pid} rc={self.returncode}>"


# --- SmtpSink ---------------------------------------------------------------------


@dataclasses.dataclass
class SinkMessage:
    """One transaction as smtp-sink dumped it (see SmtpSink for the format).

    client_addr  X-Client-Addr (an IPv6 address reads "ipv6:::1")
    client_proto X-Client-Proto: SMTP, ESMTP or LMTP
    helo         X-Helo-Args (None if the client sent no HELO/EHLO)
    mail_args    X-Mail-Args: "<a@example.org> SIZE=123 BODY=8BITMIME"
    rcpt_args    X-Rcpt-Args, one per accepted RCPT, in order
    received     smtp-sink's own three-line Received: header (LF endings)
    data         the message as smtp-sink wrote it: LF line ends, dots
                 unstuffed, smtp-sink's extra final empty line removed
    raw          the whole file
    """

    path: Path
    id: str
    client_addr: str
    client_proto: str
    helo: Optional[str]
    mail_args: str
    rcpt_args: list
    received: str
    data: bytes
    raw: bytes
    prefix: bytes = b""

    @staticmethod
    def _addr(args: str) -> str:
        args = args.strip()
        if args.startswith("<"):
            end = args.find(">")
            return args[1:end] if end >= 0 else args[1:]
        return args.split(" ", 1)[0]

    @property
    def mail_from(self) -> str:
        """The envelope sender without <> ('' for the null sender)."""
        return self._addr(self.mail_args)

    @property
    def rcpts(self) -> list:
        """The envelope recipients without <> or ESMTP parameters."""
        return [self._addr(a) for a in self.rcpt_args]

    @property
    def data_crlf(self) -> bytes:
        """data with CRLF line ends: byte-exact to what the client sent after
        dot-unstuffing, if the client sent no bare CR or bare LF."""
        return self.data.replace(b"\n", b"\r\n")

    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def header(self, name: str) -> Optional[str]:
        """First header 'name' of the message (unfolded as written), or None."""
        return self.message().get(name)

    def headers(self, name: str) -> list:
        return self.message().get_all(name) or []

    @classmethod
    def parse(cls, path: Path, raw: bytes) -> "SinkMessage":
        lines = raw.split(b"\n")
        i = 0
        while i < len(lines) and not lines[i].startswith(b"X-Client-Addr: "):
            i += 1
        if i == len(lines):
            raise ValueError(f"{path}: no X-Client-Addr record")
        prefix = b"\n".join(lines[:i]) + (b"\n" if i else b"")
        fields = {"X-Client-Addr": None, "X-Client-Proto": None, "X-Helo-Args": None,
                  "X-Mail-Args": None}
        rcpts = []
        while i < len(lines) and not lines[i].startswith(b"Received: "):
            key, _, value = lines[i].decode("utf-8", "surrogateescape").partition(": ")
            if key == "X-Rcpt-Args":
                rcpts.append(value)
            elif key in fields:
                fields[key] = value
            else:
                raise ValueError(f"{path}: unexpected record {lines[i]!r}")
            i += 1
        if i + 3 > len(lines):
            raise ValueError(f"{path}: incomplete dump (no Received: header)")
        received = b"\n".join(lines[i:i + 3]).decode("utf-8", "surrogateescape") + "\n"
        body = b"\n".join(lines[i + 3:])
        # smtp-sink writes the LF of the final ".\r\n" too: drop that one LF.
        if body.endswith(b"\n"):
            body = body[:-1]
        return cls(path=path, id=path.name.rsplit(".", 1)[-1],
                   client_addr=fields["X-Client-Addr"] or "",
                   client_proto=fields["X-Client-Proto"] or "",
                   helo=fields["X-Helo-Args"], mail_args=fields["X-Mail-Args"] or "",
                   rcpt_args=rcpts, received=received, data=body, raw=raw, prefix=prefix)


class SmtpSink(_LogFile):
    """/usr/sbin/smtp-sink on host:port, one dump file per mail transaction.

    sink = SmtpSink(tmp_path / "sink", options=["-r", "RCPT"]).start()
    ... sink.wait_messages(1)[0].rcpts == ["b@example.com"]

    Runs as `smtp-sink [options] -u nobody -d DIR/%Y%m%d%H%M%S. HOST:PORT
    BACKLOG` (-u only as root; DIR is owned by nobody). options pass
    through unchanged: -r/-f CMDS soft/hard reject, -q CMDS drop the
    connection, -Q CMDS 421 and drop, -W CMD:SECS[:ODDS] delay the reply,
    -w SECS delay the DATA reply,
    -C no XCLIENT, -F no XFORWARD, -E no ENHANCEDSTATUSCODES, -8 no 8BITMIME,
    -p no PIPELINING, -e no ESMTP, -L LMTP, -h NAME greeting name. Commands
    are e.g. CONNECT, EHLO, MAIL, RCPT, DATA, "." (the end of data).

    Dump file format (found by running smtp-sink 3.7.11 and reading
    src/smtpstone/smtp-sink.c). Name: the expanded template plus 8 random
    hex digits, e.g. 20261201180419.055cf594. Content, LF-terminated lines:

        [the -S start string, if given]
        X-Client-Addr: 127.0.0.1
        X-Client-Proto: ESMTP
        X-Helo-Args: client.example      (only after HELO/EHLO)
        X-Mail-Args: <a@example.org> SIZE=100 BODY=8BITMIME
        X-Rcpt-Args: <b@example.com> NOTIFY=NEVER     (one per RCPT)
        Received: from client.example ([127.0.0.1])   (no HELO: from [addr])
        \tby smtp-sink (smtp-sink) with ESMTP id 055cf594;
        \tTue,  1 Dec 2026 18:04:19 +0000 (UTC)
        <message header and body>
        <an empty line>

    How the message bytes appear: smtp-sink drops every CR (CRLF becomes LF,
    and a bare CR vanishes: "a\\rb" is dumped as "ab"); a bare LF stays an
    LF, so it cannot be told from CRLF; the first "." of a line that follows
    CRLF (or DATA's 354) is dropped (dot-unstuffing: "..x" -> ".x", and
    also ".x" -> "x", as RFC 5321 4.5.2 says), a "." after a bare LF is
    kept; the terminating
    "." and its CR are dropped but its LF is written, which is the final
    empty line. SinkMessage.data removes that LF; SinkMessage.data_crlf
    turns LF back into CRLF. 8-bit bytes are kept. No line length limit.

    Life of a file: it is created at MAIL FROM and written as the transaction
    goes (the Received: lines at DATA); RSET, HELO/EHLO or a disconnect
    before the final "." delete it. It is closed at the final "." *before* smtp-sink
    answers that ".", and before -r/-f/-q/-Q for "." are applied: a message
    the sink rejected at end of data still leaves a complete dump. messages()
    ignores files smtp-sink still holds open, so it never returns a
    transaction in progress.
    """

    def __init__(self, workdir: StrPath, options: Union[Sequence[str], str] = (), *,
                 host: str = "127.0.0.1", port: Optional[int] = None, backlog: int = 100,
                 user: str = "nobody", name: str = "sink"):
        self.workdir = Path(workdir)
        self.options = shlex.split(options) if isinstance(options, str) else list(options)
        self.host = host
        self._auto_port = port is None
        self.port = port if port is not None else free_port(host)
        self.backlog = backlog
        self.user = user
        self.name = name
        self.dump_dir = self.workdir / "dump"
        self.log_path = self.workdir / "smtp-sink.log"
        self.proc: Optional[Proc] = None

    @property
    def addr(self) -> tuple:
        return (self.host, self.port)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _argv(self) -> list:
        argv = [SMTP_SINK, *self.options]
        if os.geteuid() == 0:
            argv += ["-u", self.user]
        argv += ["-d", f"{self.dump_dir}/%Y%m%d%H%M%S.", hostport(self.host, self.port),
                 str(self.backlog)]
        return argv

    def start(self, timeout: float = 10.0) -> "SmtpSink":
        if not os.access(SMTP_SINK, os.X_OK):
            raise FileNotFoundError(f"{SMTP_SINK} not found (Debian package postfix)")
        self.dump_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dump_dir, pw.pw_uid, pw.pw_gid)
            os.chmod(self.dump_dir, 0o755)
            make_traversable(self.dump_dir)
        for attempt in range(3):
            self.proc = Proc(self._argv(), self.log_path, cwd=self.workdir, name=self.name)
            self.proc.start()
            try:
                wait_listening(self.host, self.port, timeout, alive=self.proc.alive,
                               details=lambda: _tail(self.log_text()))
                _register(self)
                return self
            except RuntimeError:
                self.proc.stop()
                if self._auto_port and "in use" in self.log_text() and attempt < 2:
                    self.port = free_port(self.host)
                    continue
                raise
        raise AssertionError("unreachable")

    def stop(self) -> Optional[int]:
        _unregister(self)
        return self.proc.stop() if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def _alive_for_wait(self):
        return self.alive

    def __enter__(self) -> "SmtpSink":
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _complete_files(self) -> list:
        try:
            names = os.listdir(self.dump_dir)
        except FileNotFoundError:
            return []
        # Snapshot open files *after* listing: a file listed and not open
        # any more is complete (aborted ones are unlinked before closing).
        busy = _open_files(self.proc.pid) if self.alive() else set()
        if busy is None:
            raise RuntimeError(f"cannot read /proc/{self.proc.pid}/fd to tell "
                               "finished dumps from transactions in progress")
        files = []
        for name in names:
            path = self.dump_dir / name
            if str(path) in busy:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime_ns, name, path))
        return [p for _, _, p in sorted(files)]

    def messages(self) -> list:
        """Finished transactions, oldest first (by time of the final dot)."""
        out = []
        for path in self._complete_files():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            out.append(SinkMessage.parse(path, raw))
        return out

    def count(self) -> int:
        return len(self._complete_files())

    def wait_messages(self, n: int, timeout: float = 10.0) -> list:
        """Wait until at least n transactions are finished; return all."""
        wait_until(lambda: self.count() >= n, timeout,
                   what=f"{n} message(s) at {self.name} (have {self.count()})",
                   alive=self.alive, details=lambda: _tail(self.log_text()))
        return self.messages()

    def clear(self) -> None:
        """Delete the finished dumps (e.g. after a warm-up message)."""
        for path in self._complete_files():
            path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"<SmtpSink {hostport(self.host, self.port)} dir={self.dump_dir}>"


# --- PrivatePostfix --------------------------------------------------------------

_MASTER_CF_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

_QUEUE_DIRS_WITH_MAIL = ("maildrop", "incoming", "active", "deferred", "hold")


def _cf_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _backdate(path: Path) -> None:
    # Postfix re-reads main.cf in 300 ms steps until its mtime is 2 seconds
    # old ("the file is being edited"): every command after a fresh write
    # would cost ~2 s. An mtime in the past avoids that wait.
    past = time.time() - 60
    os.utime(path, (past, past))


class PrivatePostfix(_LogFile):
    """A private Postfix: own config, queue and data directory, one port.

    pf = PrivatePostfix(tmp_path / "pf", relay_to=sink).start()
    smtplib.SMTP(pf.host, pf.port) ...; pf.wait_log(r"status=sent")

    Layout under workdir: etc/ (config_directory: main.cf, master.cf,
    recipient_access), spool/ (queue_directory), data/ (data_directory),
    postfix.log (maillog_file, written by the postlog service),
    postfix-cmd.log (output of the postfix commands themselves).

    Behaviour by default:
      * smtpd listens only on host:port (master.cf), inet_interfaces is
        loopback-only; inet_protocols ipv4 (pass "all" for [::1] too).
      * mydestination is empty: nothing is delivered locally. Everything
        accepted goes to relay_to via relayhost = [host]:port (any class:
        relay_domains mail as well as mynetworks relaying, and bounces).
        Without relay_to, mail is accepted and stays in the queue
        (defer_transports = smtp, relay).
      * mynetworks 127.0.0.0/8; relay_domains example.com, example.net,
        example.org, mxmoat.test (and subdomains), so that a client whose
        address XCLIENT changed to a non-local one can still send to them.
      * smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
        smtpd_recipient_restrictions =
            check_recipient_access texthash:etc/recipient_access
        recipient_access holds "ADDR 550 5.1.1 User unknown" for each of
        unknown_recipients (default: UNKNOWN_RECIPIENT), so Postfix answers
        "550 5.1.1 <unknown@example.com>: Recipient address rejected: User
        unknown"; recipient_access={addr: action} adds other entries.
      * XCLIENT and XFORWARD are allowed from xclient_hosts/xforward_hosts.
      * Retries are fast: queue_run_delay 1s, backoff 1s..2s, in_flow_delay 0.
    main_cf={param: value} overrides or adds main.cf settings (lists are
    joined with ", ", bools become yes/no); smtpd_options={param: value}
    become "-o" options of the smtpd listener (e.g. smtpd_proxy_filter);
    master_cf=[lines] are appended to master.cf (e.g. a re-injection
    listener). After changing self.main / self.access, reload() applies it.

    Give chained instances different names: myhostname is NAME.mxmoat.test,
    and Postfix refuses to relay to a server that greets with its own name
    ("mail for ... loops back to myself").
    """

    UNKNOWN_RECIPIENT = "unknown@example.com"
    RELAY_DOMAINS = ("example.com", "example.net", "example.org", "mxmoat.test")

    def __init__(self, workdir: StrPath, relay_to=None, *, host: str = "127.0.0.1",
                 port: Optional[int] = None, name: str = "postfix",
                 myhostname: Optional[str] = None,
                 mynetworks: Union[str, Sequence[str]] = "127.0.0.0/8",
                 relay_domains: Union[str, Sequence[str]] = RELAY_DOMAINS,
                 unknown_recipients: Iterable[str] = (UNKNOWN_RECIPIENT,),
                 recipient_access: Optional[Mapping[str, str]] = None,
                 relay_restrictions: Union[str, Sequence[str], None] = None,
                 recipient_restrictions: Union[str, Sequence[str], None] = None,
                 xclient_hosts: Union[str, Sequence[str]] = "127.0.0.0/8",
                 xforward_hosts: Union[str, Sequence[str]] = "127.0.0.0/8",
                 inet_protocols: str = "ipv4",
                 main_cf: Optional[Mapping[str, object]] = None,
                 smtpd_options: Optional[Mapping[str, object]] = None,
                 master_cf: Sequence[str] = ()):
        self.workdir = Path(workdir)
        self.name = name
        self.host = host
        self._auto_port = port is None
        self.port = port if port is not None else free_port(host)
        self.myhostname = myhostname or f"{re.sub(r'[^a-z0-9-]', '-', name.lower())}.mxmoat.test"
        self.sink = relay_to if isinstance(relay_to, SmtpSink) else None
        self.relay_to = self._endpoint(relay_to)
        self.config_dir = self.workdir / "etc"
        self.queue_dir = self.workdir / "spool"
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "postfix.log"
        self.cmd_log_path = self.workdir / "postfix-cmd.log"
        self.access_path = self.config_dir / "recipient_access"
        self.access = {a: "550 5.1.1 User unknown" for a in unknown_recipients}
        self.access.update(recipient_access or {})
        if relay_restrictions is None:
            relay_restrictions = "permit_mynetworks, reject_unauth_destination"
        if recipient_restrictions is None:
            recipient_restrictions = f"check_recipient_access texthash:{self.access_path}"
        if inet_protocols != "ipv4" and mynetworks == "127.0.0.0/8":
            mynetworks = "127.0.0.0/8, [::1]/128"
        self.main = {
            "compatibility_level": "3.6",
            "config_directory": str(self.config_dir),
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "daemon_directory": POSTFIX_DAEMON_DIR,
            "shlib_directory": POSTFIX_SHLIB_DIR,
            "meta_directory": POSTFIX_META_DIR,
            "command_directory": "/usr/sbin",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.myhostname,
            "mydomain": "mxmoat.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": inet_protocols,
            "mynetworks": _cf_value(mynetworks),
            "relay_domains": _cf_value(relay_domains),
            "relayhost": f"[{self.relay_to[0]}]:{self.relay_to[1]}" if self.relay_to else "",
            "smtpd_relay_restrictions": _cf_value(relay_restrictions),
            "smtpd_recipient_restrictions": _cf_value(recipient_restrictions),
            "smtpd_authorized_xclient_hosts": _cf_value(xclient_hosts),
            "smtpd_authorized_xforward_hosts": _cf_value(xforward_hosts),
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.workdir),
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "in_flow_delay": "0",
            "smtpd_error_sleep_time": "0",
            "biff": "no",
            "append_dot_mydomain": "no",
            "readme_directory": "no",
            "html_directory": "no",
        }
        if not self.relay_to:
            # No downstream: accept and keep mail in the queue (deferred)
            # rather than look up MX records.
            self.main["defer_transports"] = "smtp, relay"
        self.main.update({k: _cf_value(v) for k, v in (main_cf or {}).items()})
        self.smtpd_options = {k: _cf_value(v) for k, v in (smtpd_options or {}).items()}
        self.master_extra = list(master_cf)
        self.master_pid: Optional[int] = None
        self.running = False

    # -- configuration

    @staticmethod
    def _endpoint(target) -> Optional[tuple]:
        if target is None:
            return None
        if hasattr(target, "host") and hasattr(target, "port"):
            return (target.host, target.port)
        if isinstance(target, str):
            host, _, port = target.rpartition(":")
            return (host.strip("[]"), int(port))
        host, port = target
        return (host, int(port))

    @property
    def addr(self) -> tuple:
        return (self.host, self.port)

    def master_cf_text(self) -> str:
        line = f"{hostport(self.host, self.port)} inet n - n - - smtpd"
        for key, value in self.smtpd_options.items():
            line += (f"\n  -o {{ {key} = {value} }}" if re.search(r"\s", value)
                     else f"\n  -o {key}={value}")
        return "\n".join([line, _MASTER_CF_SERVICES.rstrip("\n"), *self.master_extra]) + "\n"

    def main_cf_text(self) -> str:
        return "".join(f"{k} = {v}\n" for k, v in self.main.items())

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        files = {
            "main.cf": self.main_cf_text(),
            "master.cf": self.master_cf_text(),
            "recipient_access": "".join(f"{a} {act}\n" for a, act in self.access.items()),
        }
        for fname, text in files.items():
            path = self.config_dir / fname
            path.write_text(text)
            os.chmod(path, 0o644)
            _backdate(path)

    def _prepare_dirs(self) -> None:
        for d in (self.workdir, self.config_dir, self.queue_dir):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        pw = pwd.getpwnam("postfix")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.data_dir, 0o700)
        make_traversable(self.workdir)
        # The queue subdirectories are created by "postfix start"
        # (post-install create-missing), with their owners and modes.

    # -- commands

    def postfix(self, *args: str, check: bool = True,
                timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run `postfix -c CONFIG_DIR args...`, output to postfix-cmd.log."""
        with open(self.cmd_log_path, "ab") as log:
            log.write(f"$ postfix -c {self.config_dir} {' '.join(args)}\n".encode())
            log.flush()
            # Own session: "postfix reload" leaves "postsuper &" running
            # after the script exits; wait for (and reap) such stragglers.
            p = subprocess.Popen([POSTFIX, "-c", str(self.config_dir), *args],
                                 stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, cwd=self.workdir,
                                 start_new_session=True)
            _SESSIONS.add(p.pid)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise
            finally:
                stop_session(p.pid, grace=10.0, term=False, exclude=(p.pid,),
                             what=f"postfix {' '.join(args)}")
        r = subprocess.CompletedProcess(p.args, p.returncode)
        if check and r.returncode != 0:
            raise RuntimeError(
                f"postfix {' '.join(args)} failed with status {r.returncode}\n"
                f"{_tail(self.cmd_log_path.read_text(errors='replace'))}\n"
                f"maillog:\n{_tail(self.log_text())}")
        return r

    def postconf(self, *args: str) -> str:
        """Output of `postconf -c CONFIG_DIR args...` (e.g. "-n", "-h", "relayhost")."""
        return subprocess.run([POSTCONF, "-c", str(self.config_dir), *args], check=True,
                              capture_output=True, text=True, timeout=30).stdout

    def _read_master_pid(self) -> Optional[int]:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def start(self, timeout: float = 20.0) -> "PrivatePostfix":
        if self.running:
            raise RuntimeError(f"{self.name}: already running")
        if os.geteuid() != 0:
            raise PermissionError("a private Postfix instance needs root")
        self._prepare_dirs()
        for attempt in range(3):
            self.write_config()
            mark = self.log_mark()
            r = self.postfix("start", check=False, timeout=timeout)
            self.master_pid = self._read_master_pid() if r.returncode == 0 else None
            if self.master_pid is not None:
                _SESSIONS.add(self.master_pid)
                self.running = True
                _register(self)
                try:
                    wait_listening(self.host, self.port, timeout,
                                   alive=lambda: pid_alive(self.master_pid),
                                   details=lambda: _tail(self.log_text()))
                except Exception:
                    self.stop()
                    raise
                return self
            # A master that died during start-up is our zombie now; reap it
            # (and anything it had started).
            for pid in {int(p) for p in re.findall(r"postfix/master\[(\d+)\]",
                                                   self.log_text()[mark:])}:
                _reap(pid)
                stop_session(pid, grace=1.0, what=self.name)
                _reap(pid)
            # A port taken between free_port() and master's bind: new port.
            if (self._auto_port and attempt < 2
                    and "already in use" in self.log_text()[mark:]):
                self.port = free_port(self.host)
                continue
            raise RuntimeError(
                f"postfix start failed (status {r.returncode})\n"
                f"{_tail(self.cmd_log_path.read_text(errors='replace'))}\n"
                f"maillog:\n{_tail(self.log_text())}")
        raise AssertionError("unreachable")

    def processes(self) -> list:
        """PIDs of this instance's live processes (master's session)."""
        return session_pids(self.master_pid) if self.master_pid else []

    def _kill_leftovers(self, grace: float = 3.0) -> None:
        """Wait until the instance's processes are gone; SIGKILL after grace.

        master runs setsid(), so its session holds exactly this instance.
        Once master has exited its children are ours (become_subreaper).
        """
        if self.master_pid:
            _reap(self.master_pid)
            stop_session(self.master_pid, grace, term=False, what=self.name)
            _reap(self.master_pid)

    def stop(self) -> None:
        """`postfix stop`, then wait until every process of the instance is
        gone (SIGTERM to master if the command failed, SIGKILL to whatever
        is left after 3 s)."""
        if not self.running:
            return
        try:
            if pid_alive(self.master_pid):
                r = self.postfix("stop", check=False, timeout=30)
                if r.returncode != 0 and pid_alive(self.master_pid):
                    os.kill(self.master_pid, signal.SIGTERM)
            self._kill_leftovers()
        finally:
            self.running = False
            _unregister(self)

    def reload(self, timeout: float = 10.0) -> None:
        """Rewrite the configuration from self.main/self.access/... and
        `postfix reload`; returns once master has logged the reload."""
        self.write_config()
        mark = self.log_mark()
        self.postfix("reload")
        self.wait_log(r"master\[\d+\]: reload ", timeout, since=mark)

    def flush(self) -> None:
        """`postfix flush`: retry deferred mail now."""
        self.postfix("flush")

    def alive(self) -> bool:
        return self.running and self.master_pid is not None and pid_alive(self.master_pid)

    def _alive_for_wait(self):
        return self.alive if self.running else None

    def __enter__(self) -> "PrivatePostfix":
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- queue

    def queue_files(self) -> list:
        """Queue file names (= queue ids) in maildrop/incoming/active/
        deferred/hold."""
        ids = []
        for sub in _QUEUE_DIRS_WITH_MAIL:
            for _root, _dirs, files in os.walk(self.queue_dir / sub):
                ids.extend(files)
        return ids

    def queue_is_empty(self) -> bool:
        return not self.queue_files()

    def wait_queue_empty(self, timeout: float = 10.0) -> None:
        wait_until(self.queue_is_empty, timeout,
                   what=f"{self.name}'s queue to empty ({self.queue_files()})",
                   details=lambda: _tail(self.log_text()))

    def __repr__(self) -> str:
        return f"<PrivatePostfix {self.name} {hostport(self.host, self.port)} {self.workdir}>"


# --- Mxmoatd ---------------------------------------------------------------------


def mxmoatd_binary() -> Path:
    """<MXMOAT_TOP_BUILDDIR or the repository root>/mxmoatd."""
    return Path(os.environ.get("MXMOAT_TOP_BUILDDIR") or REPO_ROOT) / "mxmoatd"


def _conf_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def write_ini(path: StrPath, config: Mapping[str, Mapping[str, object]]) -> str:
    """Write {section: {key: value}} as "[section]" / "key = value" lines."""
    parts = []
    for section, keys in config.items():
        parts.append(f"[{section}]\n")
        for key, value in keys.items():
            text = _conf_value(value)
            if "\n" in text or "\r" in text:
                raise ValueError(f"[{section}] {key}: values are single lines")
            parts.append(f"{key} = {text}\n")
        parts.append("\n")
    text = "".join(parts)
    Path(path).write_text(text)
    return text


def _parse_endpoint(text: str) -> Optional[tuple]:
    text = text.strip()
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", text)
    if not m:
        return None  # unix:/path or something we do not wait for
    return (m.group(1), int(m.group(2))) if m.group(1) else (m.group(3), int(m.group(4)))


class Mxmoatd(_LogFile):
    """mxmoatd started as `mxmoatd -f -c WORKDIR/mxmoat.conf`, stderr to a log.

    md = Mxmoatd(tmp_path / "md", {"downstream": {"address": "127.0.0.1:2525"}})
    md.start(); ...; md.summary_lines()[-1]["action"] == "accept"

    config is {section: {key: value}}; downstream= (a PrivatePostfix, an
    SmtpSink, (host, port) or "host:port") sets [downstream] address. Values:
    bools become yes/no, lists are joined with ", ". If [server] listen is
    missing it is
    set to 127.0.0.1:<free port>; [spool] directory defaults to
    WORKDIR/spool. start() waits until every TCP address in [server] listen
    is listening (checked in /proc/net/tcp, so no probe session is logged).
    host/port are the first listen address.
    """

    def __init__(self, workdir: StrPath, config: Optional[Mapping] = None, *,
                 downstream=None, binary: Optional[StrPath] = None,
                 args: Sequence[str] = (), env: Optional[Mapping[str, str]] = None,
                 name: str = "mxmoatd"):
        self.workdir = Path(workdir)
        self.name = name
        self.binary = Path(binary) if binary else mxmoatd_binary()
        self.config = {s: dict(k) for s, k in (config or {}).items()}
        if downstream is not None:
            host, port = PrivatePostfix._endpoint(downstream)
            self.config.setdefault("downstream", {})["address"] = hostport(host, port)
        server = self.config.setdefault("server", {})
        if "listen" not in server:
            server["listen"] = hostport("127.0.0.1", free_port())
        self.config.setdefault("spool", {}).setdefault("directory", str(self.workdir / "spool"))
        # the HTTP listener (metrics, API, dashboard) on a port of its own;
        # the history stays in memory unless a test asks for Redis
        self.config.setdefault("http", {}).setdefault(
            "listen", hostport("127.0.0.1", free_port()))
        self.config.setdefault("history", {}).setdefault("redis", False)
        http_listen = str(self.config["http"]["listen"]).split(",")[0]
        self.http_addr = _parse_endpoint(http_listen) if http_listen.strip() else None
        if os.geteuid() == 0:
            # mxmoatd refuses to run as root: it binds, then becomes this user
            self.config.setdefault("daemon", {}).setdefault("user", "nobody")
        listen = server["listen"]
        if isinstance(listen, (list, tuple)):
            listen = ", ".join(listen)
        self.listen = [e for e in (_parse_endpoint(x) for x in str(listen).split(",")) if e]
        self.host, self.port = self.listen[0] if self.listen else (None, None)
        self.args = list(args)
        self.env = dict(env) if env is not None else None
        self.conf_path = self.workdir / "mxmoat.conf"
        self.log_path = self.workdir / f"{name}.log"
        self.proc: Optional[Proc] = None
        self.stopped = False        # stop() was called
        self.stop_status: Optional[int] = None
        self.check_on_teardown = True  # conftest: fail on crash/sanitizer report

    @property
    def addr(self) -> tuple:
        return (self.host, self.port)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> Optional[int]:
        return self.proc.returncode if self.proc else None

    @property
    def http_url(self) -> str:
        """http://HOST:PORT of the [http] listener."""
        host, port = self.http_addr
        return f"http://{hostport(host, port)}"

    def write_config(self) -> str:
        self.workdir.mkdir(parents=True, exist_ok=True)
        spool = Path(self.config["spool"]["directory"])
        spool.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # the unprivileged user writes the spool files
            os.chmod(spool, 0o1777)
            make_traversable(spool)
        path = write_ini(self.conf_path, self.config)
        os.chmod(self.conf_path, 0o644)  # re-read by the dropped user on reload
        make_traversable(self.workdir)
        return path

    def start(self, timeout: float = 10.0) -> "Mxmoatd":
        if not self.binary.exists():
            raise FileNotFoundError(f"mxmoatd not found at {self.binary}")
        self.write_config()
        argv = [self.binary, "-f", "-c", self.conf_path, *self.args]
        self.proc = Proc(argv, self.log_path, env=self.env, cwd=self.workdir, name=self.name)
        self.proc.start()
        _register(self)
        try:
            for host, port in self.listen:
                wait_listening("127.0.0.1" if host == "0.0.0.0" else
                               "::1" if host == "::" else host, port, timeout,
                               alive=self.proc.alive, details=lambda: _tail(self.log_text()))
        except Exception:
            self.stop()
            raise
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def _alive_for_wait(self):
        return self.alive

    def reload(self, wait_for: Optional[str] = None, timeout: float = 10.0) -> None:
        """Rewrite the config file from self.config, SIGHUP; with wait_for,
        wait for that regex in the log lines written after the signal."""
        self.write_config()
        mark = self.log_mark()
        self.proc.send_signal(signal.SIGHUP)
        if wait_for:
            self.wait_log(wait_for, timeout, since=mark)

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, wait up to timeout, SIGKILL; return the exit status
        (-9 if it had to be killed)."""
        _unregister(self)
        if self.proc is None:
            return None
        status = self.proc.stop(timeout)
        if not self.stopped:
            self.stopped, self.stop_status = True, status
        return status

    def summary_lines(self, since: int = 0) -> list:
        """parse_kv() of each log line containing ' action=' (the per-message
        summary lines), oldest first."""
        return [parse_kv(line) for line in self.log_text()[since:].splitlines()
                if " action=" in line]

    def wait_summaries(self, n: int, timeout: float = 10.0, since: int = 0) -> list:
        wait_until(lambda: len(self.summary_lines(since)) >= n, timeout,
                   what=f"{n} summary line(s) from {self.name}", alive=self.alive,
                   details=lambda: _tail(self.log_text()))
        return self.summary_lines(since)

    def __enter__(self) -> "Mxmoatd":
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Mxmoatd {self.binary} {self.listen} pid={self.proc.pid if self.proc else None}>"


# --- RedisServer -----------------------------------------------------------------

REDIS_SERVER = "/usr/bin/redis-server"


class RedisServer(_LogFile):
    """A private redis-server on 127.0.0.1:<port>: no persistence, its own
    directory, in the foreground, stopped by PID.

    r = RedisServer(tmp_path / "redis").start()
    r.client().get("k"); r.kill(); r.start()   # same port again
    r.pause(2000)                                # CLIENT PAUSE: a slow Redis

    args are extra redis-server options (e.g. ["--replicaof", "127.0.0.1",
    "6380"]); sentinel=True runs `redis-server CONF --sentinel` with
    sentinel_conf (lines) written to WORKDIR/sentinel.conf. client() needs
    python3-redis.
    """

    def __init__(self, workdir: StrPath, *, port: Optional[int] = None,
                 args: Sequence[str] = (), name: str = "redis",
                 sentinel: bool = False, sentinel_conf: Sequence[str] = ()):
        self.workdir = Path(workdir)
        self.name = name
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port()
        self.args = list(args)
        self.sentinel = sentinel
        self.sentinel_conf = list(sentinel_conf)
        self.log_path = self.workdir / f"{name}.log"
        self.proc: Optional[Proc] = None

    @property
    def addr(self) -> tuple:
        return (self.host, self.port)

    @property
    def endpoint(self) -> str:
        return hostport(self.host, self.port)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _argv(self) -> list:
        if self.sentinel:
            conf = self.workdir / "sentinel.conf"
            conf.write_text("".join(f"{line}\n" for line in
                                    [f"port {self.port}", f"bind {self.host}",
                                     f"dir {self.workdir}", *self.sentinel_conf]))
            return [REDIS_SERVER, str(conf), "--sentinel"]
        return [REDIS_SERVER, "--port", str(self.port), "--bind", self.host,
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", str(self.workdir), *self.args]

    def start(self, timeout: float = 10.0) -> "RedisServer":
        if not os.access(REDIS_SERVER, os.X_OK):
            raise FileNotFoundError(f"{REDIS_SERVER} not found (Debian package redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = Proc(self._argv(), self.log_path, cwd=self.workdir, name=self.name)
        self.proc.start()
        _register(self)
        try:
            wait_listening(self.host, self.port, timeout, alive=self.proc.alive,
                           details=lambda: _tail(self.log_text()))
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> Optional[int]:
        _unregister(self)
        return self.proc.stop() if self.proc else None

    def kill(self) -> None:
        """SIGKILL: Redis disappears as in a crash (the port is free after)."""
        _unregister(self)
        if self.proc is not None:
            self.proc.stop(timeout=0.1, sig=signal.SIGKILL)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def _alive_for_wait(self):
        return self.alive

    def client(self, **kwargs):
        import redis  # python3-redis
        return redis.Redis(host=self.host, port=self.port, decode_responses=True, **kwargs)

    def pause(self, ms: int, mode: str = "ALL") -> None:
        """CLIENT PAUSE ms: every client's commands wait (DEBUG is disabled)."""
        self.client().execute_command("CLIENT", "PAUSE", str(ms), mode)

    def __enter__(self) -> "RedisServer":
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RedisServer {self.endpoint} {self.workdir}>"
