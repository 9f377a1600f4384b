"""Starts warren-balancer (env WARREN_BALANCER_BIN) for a test, in front of
warren-nodes the interop harness starts, on free loopback ports chosen
before the start; reads its stats JSON and waits on it with deadlines."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, os.path.join(HERE, "..", "ctl"))

import harness  # noqa: E402
from ctl import listing  # noqa: E402

START_TIMEOUT = 10.0
_balancers = []  # for their logs when a test failed


def binary():
    b = os.environ.get("WARREN_BALANCER_BIN")
    if not b or not os.access(b, os.X_OK):
        raise RuntimeError("WARREN_BALANCER_BIN must name the warren-balancer binary")
    return b


def wait_until(predicate, timeout, what):
    """Polls predicate until it returns a true value (returned); fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("not within %.1f s: %s" % (timeout, what))
        time.sleep(0.02)


def server_toml(name, port, check="amqp", inter="100ms", rise=2, fall=2, weight=1, backup=False):
    check = "false" if check is False else '"%s"' % check
    return ('[[listen.server]]\nname = "%s"\naddress = "127.0.0.1:%d"\ncheck = %s\n'
            'inter = "%s"\nrise = %d\nfall = %d\nweight = %d\nbackup = %s\n'
            % (name, port, check, inter, rise, fall, weight, "true" if backup else "false"))


class Balancer:
    """`servers`: (name, port) pairs or full [[listen.server]] TOML strings."""

    def __init__(self, servers, balance="roundrobin", maxconn=0, timeout_connect="1s",
                 timeout_client="120s", retries=3):
        self.host = "127.0.0.1"
        self.port = harness.free_port()
        self.stats_port = harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="warren-balancer-")
        self.config_path = os.path.join(self.dir, "balancer.toml")
        self.settings = dict(balance=balance, maxconn=maxconn, timeout_connect=timeout_connect,
                             timeout_client=timeout_client, retries=retries)
        self.write_config(servers)
        self.proc = None
        self.lines = []
        _balancers.append(self)

    def config_text(self, servers, **overrides):
        s = dict(self.settings, **overrides)
        out = ['[global]\nmaxconn = 4096\nhard_stop_after = "5s"\n',
               '[defaults]\ntimeout_connect = "%s"\ntimeout_client = "%s"\n'
               'timeout_server = "120s"\nretries = %d\n' % (s["timeout_connect"],
                                                            s["timeout_client"], s["retries"]),
               '[[listen]]\nname = "rabbitmq_cluster"\nbind = "127.0.0.1:%d"\nmode = "tcp"\n'
               'balance = "%s"\nmaxconn = %d\n' % (self.port, s["balance"], s["maxconn"])]
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
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
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

    def wait_checked(self, names, timeout=5.0):
        """Every named server UP with a passing check behind it."""
        def ok():
            s = self.servers()
            return all(s[n]["state"] == "UP" and s[n]["last_check"]["time"] > 0
                       and s[n]["last_check"]["ok"] for n in names)
        return wait_until(ok, timeout, "servers %s checked UP: %s" % (names, self.servers()))


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
