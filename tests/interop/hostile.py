"""Helpers for tests that play a hostile or careless client: raw HTTP over a
socket (for heads, bodies and timings no HTTP library would send), waiting
for the server to close a connection, and AMQP names that are not UTF-8."""
import select
import socket
import threading
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(sock, timeout=10.0):
    """(status, headers dict lower-cased, body bytes) of one response, read
    with a deadline; raises on timeout or EOF before a whole response."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before a response: %r" % data)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def closed_by_peer(sock, deadline):
    """True once the server closes `sock` (EOF or reset) before `deadline`
    (time.monotonic()); data it sends first is skipped."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            continue
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True


def raw(port, text, timeout=10.0):
    """Sends `text` (a whole request) and returns the response."""
    with connect(port) as s:
        s.sendall(text.encode("latin-1") if isinstance(text, str) else text)
        return read_response(s, timeout)


def request_text(method, path, port, body=None, headers=()):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % port]
    lines += list(headers)
    payload = b""
    if body is not None:
        payload = body if isinstance(body, bytes) else body.encode()
        lines.append("Content-Length: %d" % len(payload))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class RawName(str):
    """A name pika sends as these bytes (pika takes only str)."""

    def __new__(cls, raw):
        obj = str.__new__(cls, raw.decode("latin-1"))
        obj.raw = raw
        return obj

    def encode(self, *args, **kwargs):
        return self.raw

    # pika matches a reply to its request by name; the reply's name is these
    # bytes (it decodes only UTF-8).
    def __eq__(self, other):
        return other == self.raw if isinstance(other, bytes) else str.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = str.__hash__


def silent_server(test):
    """A server on 127.0.0.1 that accepts connections and never answers (a
    node that hangs), closed at `test`'s cleanup. Returns its port and an
    Event set once it has accepted a connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    test.addCleanup(listener.close)
    accepted = threading.Event()
    held = []
    test.addCleanup(lambda: [c.close() for c in held])

    def accept():
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            held.append(c)
            accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1], accepted


def slow_clients(test, port, request_line, count=32):
    """`count` connections to 127.0.0.1:`port` that send `request_line` and
    then one more header line a second, never finishing the head
    (slowloris); closed, and the dripping stopped, at `test`'s cleanup.
    Returns the sockets."""
    slow = []
    for _ in range(count):
        s = connect(port)
        s.sendall(request_line)
        slow.append(s)
    stop = threading.Event()
    test.addCleanup(lambda: [s.close() for s in slow])
    test.addCleanup(stop.set)

    def drip():
        n = 0
        while not stop.wait(1.0):
            n += 1
            for s in slow:
                try:
                    s.sendall(b"X-Slow-%d: 1\r\n" % n)
                except OSError:
                    pass

    threading.Thread(target=drip, daemon=True).start()
    return slow
