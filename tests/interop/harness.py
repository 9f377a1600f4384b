"""Starts a broker for an interop test and stops it afterwards.

The broker is Warren's node (env WARREN_NODE_BIN, an absolute path) on
127.0.0.1 with a port the node picks itself (--amqp-listen 127.0.0.1:0); the
node logs "amqp listening on HOST:PORT" to stderr once it accepts connections.

With WARREN_INTEROP_TARGET=rabbitmq the same tests run against a private
instance of Debian's rabbitmq-server instead (free ports, a temp dir, its own
epmd), which is how the tests were checked to describe RabbitMQ's behaviour
and not Warren's. That mode is a development aid; ctest always uses Warren.

Both backends get the same definitions (DEFINITIONS below): Warren through a
--config TOML file, RabbitMQ through rabbitmqctl.

Durability tests also stop, kill -9 and restart a Warren node on the same data
directory: `kill()`, `stop_node()`, `restart()` (on the same AMQP port when
made with `amqp_port=PORT`, as the balancer's tests need); `extra_config` is TOML text
appended to the node's config file; `logs()` covers every run of the node.

Used two ways:
  - imported by Python tests: `with Broker() as b: ... b.host, b.port ...`,
    and `harness.main()` instead of unittest.main() so that a failing run
    prints the broker's log;
  - as a launcher: `harness.py run [--timeout S] -- CMD ARGS...` starts a
    broker, runs CMD with AMQP_HOST, AMQP_PORT, GRPC_PORT and AMQP_URL (guest/guest, vhost
    "/") in its environment, stops the broker and exits with CMD's status.
"""
import ctypes
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

# The tutorial's administrator (section 4.2.2) on "/", a second vhost, and a
# user who may only use names starting with "limited-" on "/" but anything on
# "other".
DEFINITIONS = {
    "vhosts": ["other"],
    "users": [
        {"name": "admin", "password": "123456", "tags": ["administrator"]},
        {"name": "limited", "password": "limited", "tags": []},
    ],
    "permissions": [
        {"user": "admin", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
        {"user": "limited", "vhost": "/", "configure": "^limited-", "write": "^limited-",
         "read": "^limited-"},
        {"user": "limited", "vhost": "other", "configure": ".*", "write": ".*", "read": ".*"},
    ],
}

WARREN_START_TIMEOUT = 20.0     # until "amqp listening on ..."
RABBITMQ_START_TIMEOUT = 120.0  # Erlang boot + rabbitmqctl round trips
STOP_TIMEOUT = 20.0             # SIGTERM (Warren) / rabbitmqctl stop, then SIGKILL
RUN_TIMEOUT = 240.0             # `harness.py run`'s child; below ctest's TIMEOUT

_LISTENING = re.compile(r"amqp listening on ([0-9.]+):(\d+)")
_GRPC_LISTENING = re.compile(r"grpc listening on ([0-9.]+):(\d+)")
_AMQPS_LISTENING = re.compile(r"amqps listening on ([0-9.]+):(\d+)")
_brokers = []  # every broker this process started, for logs on failure


def toml_config(defs=DEFINITIONS):
    def q(s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = []
    for v in defs["vhosts"]:
        out += ["[[vhosts]]", "name = " + q(v), ""]
    for u in defs["users"]:
        out += ["[[users]]", "name = " + q(u["name"]), "password = " + q(u["password"])]
        if u["tags"]:
            out.append("tags = [" + ", ".join(q(t) for t in u["tags"]) + "]")
        out.append("")
    for p in defs["permissions"]:
        out += ["[[permissions]]"] + ["%s = %s" % (k, q(p[k])) for k in
                                      ("user", "vhost", "configure", "write", "read")] + [""]
    return "\n".join(out)


_issued_ports = set()


def free_port():
    """A TCP port free on 127.0.0.1 now (for a server that cannot pick its own),
    never one this process was given before: the kernel may hand a port it just
    freed out again, and a cluster's nodes must not be given the same one."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _issued_ports:
            _issued_ports.add(port)
            return port


def temp_file(test, text, suffix=".toml"):
    """A file holding `text` (a config file, usually), removed at `test`'s
    cleanup. Returns its path."""
    f = tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False)
    test.addCleanup(os.unlink, f.name)
    f.write(text)
    f.close()
    return f.name


def terminate(proc, timeout):
    """SIGTERM to `proc`, then SIGKILL if it has not exited within `timeout`
    seconds; waits for it either way. True when it had to be killed."""
    if proc.poll() is not None:
        return False
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


def wait_for(condition, what, timeout=30.0, interval=0.02):
    """Polls `condition` until it returns a true value, and returns that
    value; fails naming `what` once `timeout` seconds have passed. The one
    way the tests wait for something another process does."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("not within %.1f s: %s" % (timeout, what))
        time.sleep(interval)


def _die_with_parent():
    # Runs in the child before exec: if the test process is killed (a ctest
    # timeout), the kernel sends the node SIGTERM instead of orphaning it.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Broker:
    def __init__(self, definitions=DEFINITIONS, extra_config="", amqp_port=0, grpc_port=0,
                 args=(), plain_amqp=True, target=None, rabbitmq_plugins=(), rabbitmq_conf=""):
        self.host = "127.0.0.1"
        self.port = None
        self.amqps_port = None  # with --amqps-listen in args (docs/tls.md)
        self.plain_amqp = plain_amqp  # False: --amqp-listen none (AMQPS only)
        self.amqp_port = amqp_port  # 0: the node picks; else every (re)start uses it
        self.grpc_listen_port = grpc_port  # likewise for gRPC (a cluster's seeds name it)
        self.args = list(args)  # more command-line arguments for warren-node
        self.grpc_port = None  # Warren's Admin service (gRPC); None for RabbitMQ
        self.definitions = definitions
        self.extra_config = extra_config
        # target: "warren" or "rabbitmq"; by default WARREN_INTEROP_TARGET's.
        self.target = target or os.environ.get("WARREN_INTEROP_TARGET", "warren")
        # RabbitMQ only: plugins to enable (e.g. "rabbitmq_management") and
        # rabbitmq.conf text (RABBITMQ_CONFIG_FILE).
        self.rabbitmq_plugins = list(rabbitmq_plugins)
        self.rabbitmq_conf = rabbitmq_conf
        if self.target not in ("warren", "rabbitmq"):
            raise RuntimeError("WARREN_INTEROP_TARGET must be 'warren' or 'rabbitmq', not %r"
                               % self.target)
        self.proc = None
        self.dir = None
        self._log = []
        self._log_snapshot = None
        self._drain = None
        self._epmd_port = None
        _brokers.append(self)

    @property
    def url(self):
        """guest/guest on vhost "/" (no path: the client's default vhost)."""
        return "amqp://guest:guest@%s:%d" % (self.host, self.port)

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="warren-interop-")
        try:
            if self.target == "rabbitmq":
                self._start_rabbitmq()
            else:
                self._start_warren()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def data_dir(self):
        """Warren's data directory (kept across kill() / stop_node())."""
        return os.path.join(self.dir, "data")

    def kill(self):
        """SIGKILL the node now, as a crash would; the data directory stays."""
        self._require_warren("kill")
        self.proc.kill()
        self.proc.wait()
        self._log.append("[harness] warren-node killed with SIGKILL\n")
        self._finish_run()

    def stop_node(self):
        """Stop the node cleanly (SIGTERM); the data directory stays."""
        self._require_warren("stop_node")
        self._stop_warren()

    def restart(self, wait_for_amqp=True):
        """Start the node again on the same data directory (a new port unless
        the Broker was made with amqp_port). Without wait_for_amqp, only its
        gRPC port is waited for (a node that starts with AMQP stopped)."""
        self._require_warren("restart")
        if self.proc is not None and self.proc.poll() is None:
            self._stop_warren()
        self._start_warren(amqp=wait_for_amqp)

    def _require_warren(self, what):
        if self.target != "warren":
            raise unittest.SkipTest("%s() drives Warren's node only" % what)

    def logs(self):
        if self._log_snapshot is not None:
            return self._log_snapshot
        if self.target == "rabbitmq":
            return self._rabbitmq_logs()
        return "".join(self._log)

    # Warren ----------------------------------------------------------------
    def _start_warren(self, amqp=True):
        binary = os.environ.get("WARREN_NODE_BIN")
        if not binary or not os.path.isabs(binary) or not os.access(binary, os.X_OK):
            raise RuntimeError("WARREN_NODE_BIN must be the absolute path of the warren-node "
                               "binary (got %r); set WARREN_INTEROP_TARGET=rabbitmq to run "
                               "against RabbitMQ instead" % binary)
        config = os.path.join(self.dir, "warren.toml")
        with open(config, "w") as f:
            f.write(toml_config(self.definitions) + "\n" + self.extra_config + "\n")
        self.port = self.grpc_port = self.amqps_port = None
        amqp_listen = "127.0.0.1:%d" % self.amqp_port if self.plain_amqp else "none"
        self.proc = subprocess.Popen(
            [binary, "--amqp-listen", amqp_listen,
             "--grpc-listen", "127.0.0.1:%d" % self.grpc_listen_port,
             "--data-dir", os.path.join(self.dir, "data"), "--config", config] + self.args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", preexec_fn=_die_with_parent)
        listening = threading.Event()

        proc = self.proc

        def drain():  # keeps reading for the node's whole life
            for line in proc.stdout:
                self._log.append(line)
                m = _LISTENING.search(line)
                if m and self.port is None:
                    self.host, self.port = m.group(1), int(m.group(2))
                m = _GRPC_LISTENING.search(line)
                if m and self.grpc_port is None:
                    self.grpc_port = int(m.group(2))
                m = _AMQPS_LISTENING.search(line)
                if m and self.amqps_port is None:
                    self.amqps_port = int(m.group(2))
                # gRPC serves first (a cluster is joined through it), AMQP
                # last, AMQPS after plain AMQP.
                serving = self.amqps_port if "--amqps-listen" in self.args else self.port
                if self.grpc_port is not None and (serving is not None or not amqp):
                    listening.set()
            listening.set()  # EOF: the node exited

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not listening.wait(WARREN_START_TIMEOUT):
            raise RuntimeError("warren-node did not log 'amqp listening on' within %ds:\n%s"
                               % (WARREN_START_TIMEOUT, self.logs()))
        serving = self.amqps_port if "--amqps-listen" in self.args else self.port
        if self.grpc_port is None or (amqp and serving is None):
            raise RuntimeError("warren-node exited (status %s) before listening:\n%s"
                               % (self.proc.wait(), self.logs()))

    def _stop_warren(self):
        if terminate(self.proc, STOP_TIMEOUT):
            self._log.append("[harness] no exit %ds after SIGTERM; SIGKILL\n" % STOP_TIMEOUT)
        if self.proc.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
            self._log.append("[harness] warren-node exit status %s\n" % self.proc.returncode)
        self._finish_run()

    def _finish_run(self):
        if self._drain:
            self._drain.join(timeout=5)
            self._drain = None
        self.proc.stdout.close()

    # RabbitMQ (validates the tests themselves) -------------------------------
    def _rabbit_env(self):
        return dict(os.environ, HOME="/var/lib/rabbitmq", RABBITMQ_NODENAME=self.node,
                    RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.port),
                    RABBITMQ_DIST_PORT=str(self._dist_port),
                    RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
                    RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
                    RABBITMQ_PID_FILE=os.path.join(self.dir, "rabbit.pid"),
                    RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir, "enabled_plugins"),
                    RABBITMQ_CONFIG_FILE=os.path.join(self.dir, "rabbitmq.conf"),
                    # Erlang distribution on loopback too, and a private epmd
                    # (stopped with the node) rather than the machine's 4369.
                    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
                    ERL_EPMD_ADDRESS="127.0.0.1", ERL_EPMD_PORT=str(self._epmd_port))

    def _as_rabbitmq(self, program):
        # Debian's /usr/sbin wrappers `su` to rabbitmq and drop our stdio;
        # setpriv runs the real scripts as rabbitmq and keeps both.
        cmd = ["/usr/lib/rabbitmq/bin/" + program]
        if os.getuid() == 0:
            cmd = ["setpriv", "--reuid", "rabbitmq", "--regid", "rabbitmq", "--init-groups"] + cmd
        return cmd

    def _ctl(self, *args, check=True, timeout=60):
        r = subprocess.run(self._as_rabbitmq("rabbitmqctl") + ["-n", self.node, *args],
                           env=self._rabbit_env(), capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("rabbitmqctl %s failed (%d): %s%s\n%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr, self.logs()))
        return r

    def _start_rabbitmq(self):
        if not os.path.exists("/usr/lib/rabbitmq/bin/rabbitmq-server"):
            raise RuntimeError("WARREN_INTEROP_TARGET=rabbitmq needs Debian's rabbitmq-server")
        self.port, self._dist_port, self._epmd_port = free_port(), free_port(), free_port()
        self.node = "interop-%s@localhost" % secrets.token_hex(4)
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
            if self.rabbitmq_plugins:
                f.write("[%s].\n" % ",".join(self.rabbitmq_plugins))
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write(self.rabbitmq_conf)
        if os.getuid() == 0:
            for root, dirs, files in os.walk(self.dir):
                shutil.chown(root, "rabbitmq", "rabbitmq")
                for n in files:
                    shutil.chown(os.path.join(root, n), "rabbitmq", "rabbitmq")
        self._console = open(os.path.join(self.dir, "console.log"), "w")
        self.proc = subprocess.Popen(self._as_rabbitmq("rabbitmq-server"),
                                     env=self._rabbit_env(), cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self._console,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        # `rabbitmqctl wait PIDFILE` blocks until the node has written its pid
        # file and booted; watch the server too so an early exit fails fast.
        waiter = subprocess.Popen(
            self._as_rabbitmq("rabbitmqctl") + [
                "-n", self.node, "wait", os.path.join(self.dir, "rabbit.pid"),
                "--timeout", str(int(RABBITMQ_START_TIMEOUT))],
            env=self._rabbit_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            while True:
                try:
                    waiter.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    if self.proc.poll() is not None:
                        raise RuntimeError("rabbitmq-server exited (status %s) during start:\n%s"
                                           % (self.proc.returncode, self.logs()))
        finally:
            if waiter.poll() is None:
                waiter.kill()
            out = waiter.communicate()[0]
        if waiter.returncode != 0:
            raise RuntimeError("rabbitmq-server did not start: %s\n%s" % (out, self.logs()))
        self._ctl("await_startup", timeout=RABBITMQ_START_TIMEOUT)
        d = self.definitions
        for v in d["vhosts"]:
            self._ctl("add_vhost", v)
        for u in d["users"]:
            self._ctl("add_user", u["name"], u["password"])
            self._ctl("set_user_tags", u["name"], *u["tags"])
        for p in d["permissions"]:
            self._ctl("set_permissions", "-p", p["vhost"], p["user"], p["configure"],
                      p["write"], p["read"])

    def _rabbitmq_logs(self, lines=200):
        # The node's log file (the console repeats it), else the startup output.
        parts = []
        for path in sorted(glob.glob(os.path.join(self.dir or "", "log", "*.log"))) + [
                os.path.join(self.dir or "", "console.log")]:
            try:
                with open(path, errors="replace") as f:
                    text = f.readlines()
            except OSError:
                continue
            if text:
                parts.append("==> %s (last %d lines) <==\n%s" % (
                    os.path.basename(path), lines, "".join(text[-lines:])))
            if path.endswith("@localhost.log") and text:
                break
        return "\n".join(parts)

    def _stop_rabbitmq(self):
        if self.proc.poll() is None:
            try:
                self._ctl("stop", check=False, timeout=STOP_TIMEOUT * 3)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # The session we started: the script, beam and its helpers.
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._epmd_port:
            # Our private epmd outlives the node (it daemonizes); it has no
            # names registered any more, so it accepts -kill.
            subprocess.run(["epmd", "-port", str(self._epmd_port), "-kill"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        self._console.close()

    def stop(self):
        if self.proc is not None:
            try:
                if self.target == "rabbitmq":
                    self._stop_rabbitmq()
                else:
                    self._stop_warren()
            finally:
                self._log_snapshot = self.logs()
                self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def print_logs(stream=sys.stderr):
    for b in _brokers:
        print("---- %s log ----\n%s" % (b.target, b.logs()), file=stream)


def _terminate_on_sigterm():
    # ctest's timeout (or a kill): stop the brokers rather than orphan them.
    def stop_all(signum, frame):
        print("harness: signal %d, stopping brokers" % signum, file=sys.stderr)
        for b in _brokers:
            try:
                b.stop()
            except Exception as e:  # keep stopping the others
                print("harness: stopping a broker failed: %s" % e, file=sys.stderr)
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)


def main():
    """unittest.main() that prints the brokers' logs when a test failed."""
    _terminate_on_sigterm()
    result = unittest.main(exit=False).result
    ok = result.wasSuccessful() and result.testsRun > 0
    if not ok:
        print_logs()
    sys.exit(0 if ok else 1)


def run(argv):
    usage = "usage: harness.py run [--timeout SECONDS] -- CMD [ARGS...]"
    if "--" not in argv:
        print(usage, file=sys.stderr)
        return 2
    opts, cmd = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    timeout = RUN_TIMEOUT
    if opts[:1] == ["--timeout"] and len(opts) == 2:
        timeout = float(opts[1])
    elif opts or not cmd:
        print(usage, file=sys.stderr)
        return 2
    _terminate_on_sigterm()
    with Broker() as broker:
        env = dict(os.environ, AMQP_HOST=broker.host, AMQP_PORT=str(broker.port),
                   GRPC_PORT=str(broker.grpc_port or ""),
                   AMQP_URL=broker.url)
        child = subprocess.Popen(cmd, env=env)
        try:
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print("harness: %s still running after %ds; killed" % (cmd[0], timeout),
                  file=sys.stderr)
            child.kill()
            child.wait()
            code = 124
    if code != 0:
        print_logs()
    return code


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2:]))
    print("usage: harness.py run [--timeout SECONDS] -- CMD [ARGS...]", file=sys.stderr)
    sys.exit(2)
