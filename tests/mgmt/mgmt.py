"""Helpers for the tests of warren-mgmt (env WARREN_MGMT_BIN): a node from the
interop harness, warren-mgmt in front of it on 127.0.0.1:0 (the port read from
its "http listening on HOST:PORT" line), and an HTTP client that speaks as
curl and rabbitmqadmin do (Basic credentials, JSON bodies, no proxy)."""
import base64
import json
import os
import re
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))

import harness  # noqa: E402  (re-exported for the tests)
from harness import wait_for  # noqa: E402,F401  (re-exported for the tests)

START_TIMEOUT = 20.0
_LISTENING = re.compile(r"http listening on ([0-9.]+):(\d+)")

# The harness's users, and one per tag the API distinguishes.
DEFINITIONS = {
    "vhosts": harness.DEFINITIONS["vhosts"],
    "users": harness.DEFINITIONS["users"] + [
        {"name": "monitor", "password": "monitor", "tags": ["monitoring"]},
        {"name": "manager", "password": "manager", "tags": ["management"]},
    ],
    "permissions": harness.DEFINITIONS["permissions"] + [
        {"user": "manager", "vhost": "/", "configure": "^mine-", "write": "^mine-",
         "read": "^mine-"},
    ],
}


def binary():
    path = os.environ.get("WARREN_MGMT_BIN")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("WARREN_MGMT_BIN must name the warren-mgmt binary (got %r)" % path)
    return path


class Client:
    """The HTTP client alone, for a management API on 127.0.0.1:`port`
    (warren-mgmt's, or RabbitMQ's in tests/mgmt/compat/record.py)."""

    def __init__(self, port):
        self.port = port

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, user="guest", password="guest", headers=None,
                raw=None):
        """(status, parsed JSON or text or None, headers). `body` is sent as
        JSON; `raw` as it is; user=None sends no credentials."""
        data = raw.encode() if isinstance(raw, str) else raw
        if body is not None:
            data = json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if user is not None:
            token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as r:
                status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        ctype = hdrs.get("Content-Type", "")
        if text and ctype.startswith("application/json"):
            return status, json.loads(text), hdrs
        return status, (text.decode(errors="replace") if text else None), hdrs

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def ok(self, method, path, body=None, expect=(200, 201, 204), **kw):
        """The parsed answer of a call that must succeed."""
        status, data, _ = self.request(method, path, body, **kw)
        if status not in expect:
            raise AssertionError("%s %s -> %d %r" % (method, path, status, data))
        return data


class Mgmt(Client):
    """warren-mgmt in front of `nodes` (gRPC HOST:PORT strings). nodes=None or
    listen=None leave --nodes or --http-listen out (then env or a config
    file decide)."""

    def __init__(self, nodes, ui_dir=None, extra_args=(), env=None, listen="127.0.0.1:0"):
        self.nodes = nodes
        self.listen = listen
        self.ui_dir = ui_dir
        self.extra_args = list(extra_args)
        self.env = env
        super().__init__(None)
        self.proc = None
        self.log = []

    def __enter__(self):
        args = [binary()]
        if self.listen is not None:
            args += ["--http-listen", self.listen]
        if self.nodes is not None:
            args += ["--nodes", ",".join(self.nodes)]
        if self.ui_dir is not None:
            args += ["--ui-dir", self.ui_dir]
        self.proc = subprocess.Popen(args + self.extra_args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=self.env,
                                     preexec_fn=harness._die_with_parent)
        listening = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.log.append(line)
                m = _LISTENING.search(line)
                if m and self.port is None:
                    self.port = int(m.group(2))
                    listening.set()
            listening.set()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not listening.wait(START_TIMEOUT) or self.port is None:
            self.stop()
            raise RuntimeError("warren-mgmt did not start:\n" + "".join(self.log))
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.proc:
            harness.terminate(self.proc, 10)
            self._drain.join(timeout=5)
            self.proc.stdout.close()
        return self.proc.returncode if self.proc else None

class NodeAndMgmt(unittest.TestCase):
    """One node (with `definitions`) and warren-mgmt in front of it, shared
    by the class's tests as cls.broker and cls.api."""
    definitions = DEFINITIONS

    @classmethod
    def setUpClass(cls):
        cls.broker = harness.Broker(definitions=cls.definitions)
        cls.broker.__enter__()
        try:
            cls.api = Mgmt(["127.0.0.1:%d" % cls.broker.grpc_port]).__enter__()
        except BaseException:
            cls.broker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()
        cls.broker.stop()


def q(name):
    """One path segment, percent-encoded as RabbitMQ's clients do ("/" -> %2F)."""
    return urllib.parse.quote(name, safe="")


