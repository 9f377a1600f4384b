"""Starts warren-balancer (env WARREN_BALANCER_BIN) for a test, in front of
warren-nodes the interop harness starts, on free loopback ports chosen
before the start; reads its stats JSON and waits on it with deadlines."""
import json
import os
import selectors
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, os.path.join(HERE, "..", "ctl"))

import harness  # noqa: E402
import pika  # noqa: E402  (Debian's python3-pika)
from ctl import listing  # noqa: E402

START_TIMEOUT = 10.0
_balancers = []  # for their logs when a test failed


def binary():
    b = os.environ.get("WARREN_BALANCER_BIN")
    if not b or not os.access(b, os.X_OK):
        raise RuntimeError("WARREN_BALANCER_BIN must name the warren-balancer binary")
    return b


def wait_until(predicate, timeout, what):
    """harness.wait_for with the timeout first, as the balancer tests call it."""
    return harness.wait_for(predicate, what, timeout=timeout)


def connect(endpoint, heartbeat=0, socket_timeout=10):
    """A pika connection as guest through `endpoint` (the balancer or a node)."""
    return pika.BlockingConnection(pika.ConnectionParameters(
        endpoint.host, endpoint.port, "/", pika.PlainCredentials("guest", "guest"),
        heartbeat=heartbeat, connection_attempts=1, socket_timeout=socket_timeout,
        blocked_connection_timeout=10))


def round_trip(conn, body=b"ping"):
    """Publishes `body` to a queue of its own on `conn` and returns what comes back."""
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, body)
    got = wait_until(lambda: ch.basic_get(q, auto_ack=True)[2], 5, "message back")
    ch.close()
    return got


def server_toml(name, port, check="amqp", inter="100ms", rise=2, fall=2, weight=1, backup=False):
    check = "false" if check is False else '"%s"' % check
    return ('[[listen.server]]\nname = "%s"\naddress = "127.0.0.1:%d"\ncheck = %s\n'
            'inter = "%s"\nrise = %d\nfall = %d\nweight = %d\nbackup = %s\n'
            % (name, port, check, inter, rise, fall, weight, "true" if backup else "false"))


class Balancer:
    """`servers`: (name, port) pairs or full [[listen.server]] TOML strings."""

    def __init__(self, servers, balance="roundrobin", maxconn=0, timeout_connect="1s",
                 timeout_client="120s", timeout_server="120s", retries=3, defaults_extra="",
                 listen_extra=""):
        """`defaults_extra`/`listen_extra`: more TOML lines for [defaults] and
        the [[listen]]."""
        self.host = "127.0.0.1"
        self.port = harness.free_port()
        self.stats_port = harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="warren-balancer-")
        self.config_path = os.path.join(self.dir, "balancer.toml")
        self.settings = dict(balance=balance, maxconn=maxconn, timeout_connect=timeout_connect,
                             timeout_client=timeout_client, timeout_server=timeout_server,
                             retries=retries, defaults_extra=defaults_extra,
                             listen_extra=listen_extra)
        self.write_config(servers)
        self.proc = None
        self.lines = []
        _balancers.append(self)

    def config_text(self, servers, **overrides):
        s = dict(self.settings, **overrides)
        out = ['[global]\nmaxconn = 4096\nhard_stop_after = "5s"\n',
               '[defaults]\ntimeout_connect = "%s"\ntimeout_client = "%s"\n'
               'timeout_server = "%s"\nretries = %d\n%s' % (
                   s["timeout_connect"], s["timeout_client"], s["timeout_server"], s["retries"],
                   s["defaults_extra"]),
               '[[listen]]\nname = "rabbitmq_cluster"\nbind = "127.0.0.1:%d"\nmode = "tcp"\n'
               'balance = "%s"\nmaxconn = %d\n%s' % (self.port, s["balance"], s["maxconn"],
                                                      s["listen_extra"])]
        for srv in servers:
            out.append(srv if isinstance(srv, str) else server_toml(*srv))
        out.append('[stats]\nbind = "127.0.0.1:%d"\nuri = "/rabbitmq_stats"\nrefresh = "5s"\n'
                   % self.stats_port)
        return "\n".join(out)

    def write_config(self, servers, **overrides):
        with open(self.config_path, "w") as f:
            f.write(self.config_text(servers, **overrides))

    def __enter__(self):
        self.proc = subprocess.Popen([binary(), "--config", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace",
                                     preexec_fn=harness._die_with_parent)
        ready = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.lines.append(line)
                if "stats listening on" in line:
                    ready.set()
            ready.set()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not ready.wait(START_TIMEOUT) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("warren-balancer did not start:\n" + self.log())
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self, timeout=10):
        if self.proc:
            harness.terminate(self.proc, timeout)
            self._drain.join(timeout=5)
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode if self.proc else None

    def signal(self, sig=signal.SIGHUP):
        self.proc.send_signal(sig)

    def log(self):
        return "".join(self.lines)

    def wait_log(self, text, timeout=5.0, start=0):
        return wait_until(lambda: any(text in l for l in self.lines[start:]), timeout,
                          "log line containing %r; log:\n%s" % (text, self.log()))

    def http(self, path):
        url = "http://127.0.0.1:%d%s" % (self.stats_port, path)
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()

    def stats(self):
        return json.loads(self.http("/rabbitmq_stats?format=json")[2])

    def servers(self):
        """{name: server dict} of the one listener."""
        return {s["name"]: s for s in self.stats()["listeners"][0]["servers"]}

    def wait_state(self, name, state, timeout=5.0):
        return wait_until(lambda: self.servers()[name]["state"] == state, timeout,
                          "%s %s; stats: %s" % (name, state, self.servers().get(name)))

    def process(self):
        """The stats JSON's process-wide gauges (sessions alive, buffers)."""
        return self.stats()["process"]

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

    def cpu_seconds(self):
        """User plus system CPU time the balancer has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def fds(self):
        """The balancer's open file descriptors, by number."""
        return {int(fd) for fd in os.listdir("/proc/%d/fd" % self.proc.pid)}

    def wait_checked(self, names, timeout=5.0):
        """Every named server UP with a passing check behind it."""
        def ok():
            s = self.servers()
            return all(s[n]["state"] == "UP" and s[n]["last_check"]["time"] > 0
                       and s[n]["last_check"]["ok"] for n in names)
        return wait_until(ok, timeout, "servers %s checked UP: %s" % (names, self.servers()))


class OneNodeTest(unittest.TestCase):
    """Tests that share one node (started for the class); balancer() puts a
    warren-balancer in front of it (or of `servers`), stopped at cleanup,
    once its health checks have seen node1."""

    @classmethod
    def setUpClass(cls):
        cls.node = harness.Broker().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def balancer(self, servers=None, **kwargs):
        b = Balancer(servers or [("node1", self.node.port)], **kwargs).__enter__()
        self.addCleanup(b.stop)
        b.wait_checked(["node1"])
        return b


def wait_closed(sock, timeout, what="the balancer closes the socket"):
    """Reads (and drops) from `sock` until its peer closes it (EOF or reset);
    fails after `timeout` seconds. Returns the bytes read."""
    deadline = time.monotonic() + timeout
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("not within %.1f s: %s" % (timeout, what))
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return got
        if not data:
            return got
        got += data


class FakeServer:
    """A TCP server on a free loopback port that stands in for a node that
    misbehaves, one thread serving every connection by `mode`:
      "hold"         read and drop everything; close on EOF
      "close"        close each connection at once
      "talk"         never read; send one byte every 0.2 s
      "mute"         never read, never send
      "echo_at_eof"  read until EOF, then send b"got N bytes" and close
      "reply"        send `payload` at once (to an AMQP health check, say), then hold
      "flood"        send `payload`, then close
    """

    def __init__(self, mode="hold", payload=b"", backlog=512):
        self.mode, self.payload = mode, payload
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._conns = {}  # socket -> [bytes read, bytes left to send]
        self._stop = False
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.sock, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop = True
        self._thread.join(timeout=5)
        for c in list(self._conns):
            c.close()
        self.sock.close()
        self._sel.close()

    def _run(self):
        next_talk = time.monotonic()
        while not self._stop:
            for key, events in self._sel.select(timeout=0.05):
                if key.fileobj is self.sock:
                    self._accept()
                elif events & selectors.EVENT_WRITE:
                    self._send(key.fileobj)
                else:
                    self._read(key.fileobj)
            if self.mode == "talk" and time.monotonic() >= next_talk:
                next_talk = time.monotonic() + 0.2
                for c in list(self._conns):
                    try:
                        c.send(b".")
                    except OSError:
                        pass

    def _accept(self):
        try:
            c, _ = self.sock.accept()
        except BlockingIOError:
            return
        self.accepted += 1
        if self.mode == "close":
            c.close()
            return
        c.setblocking(False)
        self._conns[c] = [0, b""]
        if self.mode in ("reply", "flood"):
            self._conns[c][1] = self.payload
            self._sel.register(c, selectors.EVENT_WRITE)
        elif self.mode not in ("talk", "mute"):
            self._sel.register(c, selectors.EVENT_READ)

    def _drop(self, c):
        self._sel.unregister(c)
        del self._conns[c]
        c.close()

    def _read(self, c):
        try:
            data = c.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self._conns[c][0] += len(data)
            return
        if self.mode == "echo_at_eof":
            self._sel.modify(c, selectors.EVENT_WRITE)
            self._conns[c][1] = b"got %d bytes" % self._conns[c][0]
            self._conns[c][0] = -1  # close once sent
            return
        self._drop(c)

    def _send(self, c):
        state = self._conns[c]
        try:
            n = c.send(state[1])
        except BlockingIOError:
            return
        except OSError:
            return self._drop(c)
        state[1] = state[1][n:]
        if state[1]:
            return
        if self.mode == "flood" or state[0] == -1:
            return self._drop(c)
        self._sel.modify(c, selectors.EVENT_READ)  # "reply": hold, reading


def blackhole():
    """A loopback address whose SYNs go unanswered: a listening socket that
    never accepts, its one-connection queue already full. Returns (port,
    sockets to close)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=5)
    return listener.getsockname()[1], [filler, listener]


def node_connections(node, user="guest"):
    """How many open AMQP connections of `user` a node itself lists."""
    return sum(1 for c in listing(node, "list_connections", "user") if c.get("user") == user)


def main():
    """harness.main() that also prints every balancer's log when a test failed."""
    import unittest
    harness._terminate_on_sigterm()
    result = unittest.main(exit=False).result
    ok = result.wasSuccessful() and result.testsRun > 0
    if not ok:
        harness.print_logs()
        for b in _balancers:
            if b.lines:
                print("---- warren-balancer log ----\n%s" % b.log(), file=sys.stderr)
    sys.exit(0 if ok else 1)
