"""Starts a broker for an interop test and stops it afterwards.

The broker is Warren's node (env WARREN_NODE_BIN) on 127.0.0.1 with a free
port chosen by the node itself (--amqp-listen 127.0.0.1:0; it logs
"amqp listening on HOST:PORT"). With WARREN_INTEROP_TARGET=rabbitmq the same
tests run against a private RabbitMQ instance instead, which is how they were
checked to describe RabbitMQ's behaviour.

Used two ways:
  - imported by Python tests: `with Broker() as b: ... b.port ...`
  - as a launcher: `harness.py run -- CMD ARGS...` starts a broker, runs CMD
    with AMQP_HOST/AMQP_PORT in its environment, stops the broker, and exits
    with CMD's status.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

# The tutorial's administrator, plus a restricted user for permission tests.
CONFIG = """
[[vhosts]]
name = "other"

[[users]]
name = "admin"
password = "123456"
tags = ["administrator"]

[[users]]
name = "limited"
password = "limited"

[[permissions]]
user = "admin"
vhost = "/"
configure = ".*"
write = ".*"
read = ".*"

[[permissions]]
user = "limited"
vhost = "/"
configure = "^limited-"
write = "^limited-"
read = "^limited-"
"""

START_TIMEOUT = 30.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self):
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self.log = []
        self.dir = tempfile.mkdtemp(prefix="warren-interop-")
        self.target = os.environ.get("WARREN_INTEROP_TARGET", "warren")

    def __enter__(self):
        if self.target == "rabbitmq":
            self._start_rabbitmq()
        else:
            self._start_warren()
        return self

    def __exit__(self, *exc):
        self.stop()

    def logs(self):
        return "".join(self.log)

    # Warren ----------------------------------------------------------------
    def _start_warren(self):
        binary = os.environ.get("WARREN_NODE_BIN")
        if not binary or not os.path.exists(binary):
            raise RuntimeError("WARREN_NODE_BIN must name the warren-node binary")
        config = os.path.join(self.dir, "warren.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        self.proc = subprocess.Popen(
            [binary, "--amqp-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0",
             "--data-dir", os.path.join(self.dir, "data"), "--config", config],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        found = threading.Event()
        pattern = re.compile(r"amqp listening on ([0-9.]+):(\d+)")

        def drain():
            for line in self.proc.stderr:
                self.log.append(line)
                m = pattern.search(line)
                if m and not found.is_set():
                    self.port = int(m.group(2))
                    found.set()
            found.set()

        threading.Thread(target=drain, daemon=True).start()
        if not found.wait(START_TIMEOUT) or self.port is None:
            self.stop()
            raise RuntimeError("warren-node did not start:\n" + self.logs())

    # RabbitMQ (validation of the tests themselves) ---------------------------
    def _ctl(self, *args, check=True):
        env = dict(os.environ, HOME="/var/lib/rabbitmq")
        return subprocess.run(["rabbitmqctl", "-n", self.node, *args], env=env, check=check,
                              capture_output=True, text=True, timeout=120)

    def _start_rabbitmq(self):
        self.port = free_port()
        self.node = "interop-%d@localhost" % self.port
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(self.dir, sub))
        plugins = os.path.join(self.dir, "plugins")
        open(plugins, "w").close()
        shutil.chown(self.dir, "rabbitmq", "rabbitmq")
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                shutil.chown(os.path.join(root, n), "rabbitmq", "rabbitmq")
        env = dict(os.environ, HOME="/var/lib/rabbitmq", RABBITMQ_NODENAME=self.node,
                   RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(self.port),
                   RABBITMQ_DIST_PORT=str(free_port()),
                   RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
                   RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
                   RABBITMQ_ENABLED_PLUGINS_FILE=plugins)
        self.proc = subprocess.Popen(["rabbitmq-server"], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 120
        while self._ctl("await_startup", check=False).returncode != 0:
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("rabbitmq-server did not start")
        self._ctl("add_vhost", "other")
        self._ctl("add_user", "admin", "123456")
        self._ctl("set_user_tags", "admin", "administrator")
        self._ctl("set_permissions", "-p", "/", "admin", ".*", ".*", ".*")
        self._ctl("add_user", "limited", "limited")
        self._ctl("set_permissions", "-p", "/", "limited", "^limited-", "^limited-", "^limited-")

    def stop(self):
        if self.proc is None:
            return
        if self.target == "rabbitmq":
            self._ctl("stop", check=False)
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv):
    if len(argv) < 3 or argv[1] != "run" or "--" not in argv:
        print("usage: harness.py run -- CMD [ARGS...]", file=sys.stderr)
        return 2
    cmd = argv[argv.index("--") + 1:]
    with Broker() as broker:
        env = dict(os.environ, AMQP_HOST=broker.host, AMQP_PORT=str(broker.port))
        try:
            code = subprocess.run(cmd, env=env, timeout=600).returncode
        except subprocess.TimeoutExpired:
            code = 124
        if code != 0:
            print("---- broker log ----\n" + broker.logs(), file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
