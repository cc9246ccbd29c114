"""smtpraw - a small blocking SMTP client on a raw socket, for protocol abuse.

    c = RawSmtp(host, port)              # reads the greeting (c.greeting)
    r = c.cmd("EHLO client.example")     # one line, CRLF appended
    assert r.code == 250 and "PIPELINING" in r.lines
    c.send(b"NOOP\\r\\n")                 # exact bytes, nothing added
    r = c.reply(timeout=5)               # one (possibly multi-line) reply
    assert c.wait_closed(timeout=5)      # the server closed the socket

Every read has a deadline: a reply that does not come raises
socket.timeout (TimeoutError) instead of hanging the test. A connection
closed before a complete reply raises ServerClosed, which carries the
partial lines read so far.

Reply.code is the 3-digit code (int), Reply.lines the text of each line
without the "NNN-" / "NNN " prefix, Reply.raw the bytes as received
(CRLFs included), Reply.enhanced the enhanced status code of the first
line ("5.5.2") or None, Reply.text the first line without code and
enhanced code, Reply.first the first line in full ("500 5.5.2 Error: ...").
"""

from __future__ import annotations

import dataclasses
import re
import socket
import time
from typing import Optional, Sequence, Union

# " [id=XXXXXXXXXXXXX]": mxmoatd's decision id, 13 characters of Crockford's
# base32 alphabet in lower case (src/core/id.c).
ID_CHARS = "[0-9a-hjkmnp-tv-z]"
ID_SUFFIX = re.compile(r" \[id=" + ID_CHARS + r"{13}\]$")

_ENH = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?: |$)")


class ServerClosed(ConnectionError):
    """The server closed the connection before a complete reply."""

    def __init__(self, message: str, partial: Sequence[bytes] = ()):
        super().__init__(message)
        self.partial = list(partial)


@dataclasses.dataclass
class Reply:
    code: int
    lines: list
    raw: bytes

    @property
    def first(self) -> str:
        return self.raw.split(b"\r\n", 1)[0].decode("utf-8", "replace")

    @property
    def enhanced(self) -> Optional[str]:
        m = _ENH.match(self.lines[0]) if self.lines else None
        return m.group(1) if m else None

    @property
    def text(self) -> str:
        t = self.lines[0] if self.lines else ""
        m = _ENH.match(t)
        return t[m.end():] if m else t

    @property
    def has_id(self) -> bool:
        """The last line ends with mxmoatd's " [id=...]"."""
        return bool(self.lines) and bool(ID_SUFFIX.search(self.lines[-1]))

    def __str__(self) -> str:
        return self.raw.decode("utf-8", "replace").rstrip("\r\n")


class RawSmtp:
    """One SMTP client connection on a blocking socket with deadlines."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0,
                 source: Optional[str] = None, greet: bool = True):
        self.timeout = timeout
        src = (source, 0) if source else None
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=src)
        self.buf = b""
        self.eof = False
        self.greeting: Optional[Reply] = self.reply() if greet else None

    # -- low level

    def send(self, data: Union[bytes, str]) -> None:
        """Send exactly these bytes."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        """Read more bytes into buf; False at EOF. Raises socket.timeout."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out waiting for the server")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_line(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """One line with its CRLF, or None at EOF (a partial last line is
        returned as is)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self.buf:
            if not self._fill(deadline):
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line
                return None
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    # -- replies

    def reply(self, timeout: Optional[float] = None) -> Reply:
        """Read one complete reply (all lines of a multi-line reply)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        raw_lines = []
        while True:
            line = self.read_line(max(0.0, deadline - time.monotonic()) or 0.001)
            if line is None:
                raise ServerClosed(f"connection closed after {raw_lines!r}", raw_lines)
            raw_lines.append(line)
            if not re.match(rb"^\d{3}[ -]", line) and not re.match(rb"^\d{3}\r?\n$", line):
                raise ValueError(f"malformed reply line {line!r} (after {raw_lines[:-1]!r})")
            if line[3:4] != b"-":
                break
        codes = {l[:3] for l in raw_lines}
        if len(codes) != 1:
            raise ValueError(f"reply lines with different codes: {raw_lines!r}")
        return Reply(code=int(raw_lines[0][:3]),
                     lines=[l[4:].rstrip(b"\r\n").decode("utf-8", "replace")
                            for l in raw_lines],
                     raw=b"".join(raw_lines))

    def cmd(self, line: Union[bytes, str], timeout: Optional[float] = None) -> Reply:
        """Send one command line (CRLF appended) and read its reply."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True once the server has closed the connection (EOF or reset)
        with no further bytes; False if it is still open after timeout.
        Bytes that arrive meanwhile raise AssertionError."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            try:
                if self._fill(deadline):
                    raise AssertionError(f"unexpected bytes from the server: {self.buf!r}")
            except socket.timeout:
                return False
        if self.buf:
            raise AssertionError(f"unexpected bytes from the server: {self.buf!r}")
        return True

    # -- conveniences

    def ehlo(self, name: str = "client.example") -> Reply:
        r = self.cmd(f"EHLO {name}")
        if r.code != 250:
            raise AssertionError(f"EHLO refused: {r}")
        return r

    def transaction(self, mail_from: str, rcpts: Sequence[str], body: bytes) -> Reply:
        """MAIL, RCPT..., DATA, body (CRLF lines, not dot-stuffed here: pass
        a body without lines starting with "."), final dot; returns the
        reply to the dot. Raises AssertionError on an unexpected reply."""
        r = self.cmd(f"MAIL FROM:<{mail_from}>")
        if r.code != 250:
            raise AssertionError(f"MAIL refused: {r}")
        for rcpt in rcpts:
            r = self.cmd(f"RCPT TO:<{rcpt}>")
            if r.code != 250:
                raise AssertionError(f"RCPT {rcpt} refused: {r}")
        r = self.cmd("DATA")
        if r.code != 354:
            raise AssertionError(f"DATA refused: {r}")
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body + b".\r\n")
        return self.reply()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RawSmtp":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
