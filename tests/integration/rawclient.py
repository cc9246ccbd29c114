"""rawclient - a raw SMTP client for the proxy tests (test_proxy.py).

c = RawClient(host, port)        # connects, reads nothing yet
c.reply()  -> (code, [lines])    # one complete (multi-line) reply
c.send(b"EHLO x\r\n")            # bytes exactly as given
c.cmd("MAIL FROM:<a@b>")         # send line + CRLF, return its reply
c.closed()                       # True once the server closed the socket
"""
import re
import socket
import time

_REPLY = re.compile(rb"^(\d{3})([ -])(.*)$")


class RawClient:
    def __init__(self, host, port, timeout=10.0, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.timeout = timeout
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _line(self, timeout=None) -> bytes:
        end = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply line; have {self.buf!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; have {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def reply(self, timeout=None):
        """(code, [text lines as str]) of one complete reply."""
        lines = []
        while True:
            line = self._line(timeout)
            m = _REPLY.match(line)
            if not m:
                raise ValueError(f"malformed reply line {line!r}")
            lines.append(m.group(3).decode("utf-8", "replace"))
            if m.group(2) == b" ":
                return int(m.group(1)), lines

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line: str, timeout=None):
        self.send(line.encode("utf-8") + b"\r\n")
        return self.reply(timeout)

    def closed(self, timeout=3.0) -> bool:
        """True if the server closes the connection within timeout (unread
        reply bytes are kept in self.buf)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
