"""docker/compose.yaml, as a user runs it (docker/README.md): the stack comes
up with docker-compose (Debian 12's 1.29) from the images of this build
(docker/images.sh --prebuilt), on host ports chosen free and published on
127.0.0.1, with a cluster secret of the test's own. Then, from outside the
stack:

- the three nodes form one cluster: /api/nodes through warren-mgmt lists three
  running nodes, and so does `warrenctl cluster_status` (run inside node1: the
  nodes' gRPC ports are not published);
- the tutorial's set-up (section 4.2, warrenctl for rabbitmqctl) and its Java
  Producer through warren-balancer; the queue is mirrored on the other two
  nodes, as the mirroring policy conf/definitions.json gives every node says;
- Prometheus reports the three exporters' targets up, and a query returns the
  queue's depth (1);
- `docker kill` of the queue's node: once a mirror has taken the queue over
  (until then a consumer is refused with 404, as by RabbitMQ before it sees
  the node gone), the Java Consumer through the balancer gets the message,
  and Producer and Consumer still work;
- `down -v` leaves no container, network or volume of the stack.

A failure prints every container's logs. Skipped (exit 77) where no Docker
engine can run.

Env: WARREN_NODE_BIN (the build's warren-node: the build directory is its)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from docker_engine import Engine, build_prebuilt_images, docker, skip  # noqa: E402
from harness import free_port, wait_for  # noqa: E402
from test_images import http_get  # noqa: E402
from test_java import compile_tutorial, producer_then_consumer, run_java  # noqa: E402

COMPOSE_FILE = os.path.join(ROOT, "docker", "compose.yaml")
PORTS = ("WARREN_AMQP_PORT", "WARREN_STATS_PORT", "WARREN_MGMT_PORT", "WARREN_METRICS_PORT",
         "WARREN_PROMETHEUS_PORT")
# Section 4.2 of the tutorial, with warrenctl for rabbitmqctl.
TUTORIAL_SETUP = [["add_user", "admin", "123456"],
                  ["set_user_tags", "admin", "administrator"],
                  ["set_permissions", "-p", "/", "admin", ".*", ".*", ".*"]]
NODES = ("node1", "node2", "node3")
QUEUE = "hello-queue"  # the tutorial's


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("docker-compose") is None:
            skip("no docker-compose here (apt-get install docker-compose)")
        print("\n" + build_prebuilt_images(), file=sys.stderr)  # each image's size

    def setUp(self):
        self.project = "wcompose" + uuid.uuid4().hex[:8]
        self.dir = tempfile.mkdtemp(prefix="warren-compose-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        secret = os.path.join(self.dir, "cluster-secret")
        with open(secret, "w") as f:
            f.write(uuid.uuid4().hex + "\n")
        os.chmod(secret, 0o644)  # the nodes' user (999) reads the bind-mounted file
        self.ports = {name: free_port() for name in PORTS}
        self.env = dict(os.environ, WARREN_BIND="127.0.0.1", WARREN_CLUSTER_SECRET_FILE=secret,
                        **{name: str(port) for name, port in self.ports.items()})
        self.classes = compile_tutorial(self)

    def compose(self, *args, check=True, timeout=300):
        r = subprocess.run(["docker-compose", "-p", self.project, "-f", COMPOSE_FILE] +
                           list(args), env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("docker-compose %s failed (%d):\n%s%s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def down(self):
        if self._outcome.result is not None and not self._outcome.success:
            logs = self.compose("logs", "--no-color", check=False)
            print("---- logs of the stack ----\n" + logs.stdout + logs.stderr, file=sys.stderr)
        self.compose("down", "-v", "--remove-orphans", check=False)

    def mgmt(self, path):
        _, body = http_get(self.ports["WARREN_MGMT_PORT"], path, auth="guest:guest")
        return json.loads(body)

    def prometheus(self, path, **query):
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        _, body = http_get(self.ports["WARREN_PROMETHEUS_PORT"], url)
        return json.loads(body)["data"]

    def ctl(self, node, *args):
        return self.compose("exec", "-T", node, "warrenctl", "-u", "guest", "-p", "guest",
                            *args)

    def running_nodes(self):
        try:
            return sorted(n["name"] for n in self.mgmt("/api/nodes") if n.get("running"))
        except (OSError, ValueError):
            return None  # not serving yet

    def queue(self):
        try:
            return next((q for q in self.mgmt("/api/queues") if q["name"] == QUEUE), None)
        except (OSError, ValueError):
            return None

    def java(self, main_class):
        return run_java(self.classes, "127.0.0.1", self.ports["WARREN_AMQP_PORT"], main_class)

    def test_the_stack_serves_the_tutorial_through_the_balancer_and_survives_a_killed_node(self):
        self.addCleanup(self.down)
        self.compose("up", "-d", timeout=600)
        names = ["warren@" + n for n in NODES]
        wait_for(lambda: self.running_nodes() == names, "three running nodes in /api/nodes",
                 timeout=120, interval=0.5)
        status = self.ctl("node1", "cluster_status").stdout
        running = status.split("Running Nodes", 1)[1].split("Versions", 1)[0].split()
        self.assertEqual(sorted(running), names, status)

        for args in TUTORIAL_SETUP:
            self.ctl("node2", *args)
        # warren-balancer may start listening a moment after warren-mgmt
        # answers (both wait for the nodes' health): the Producer is run
        # until it connects (it publishes only once it has).
        code, out, err = wait_for(lambda: (lambda r: r if r[0] == 0 else None)(
            self.java("Producer")), "the Producer through the balancer", timeout=60,
            interval=1)
        self.assertEqual(out.splitlines(), ["消息发送成功"])

        # The policy every node loaded mirrors the queue on the other two.
        q = wait_for(lambda: (lambda q: q if q and q["messages"] == 1 and
                              len(q.get("synchronised_slave_nodes", [])) == 2 else None)(
            self.queue()), "hello-queue with its message, mirrored on two nodes",
            timeout=60, interval=0.5)
        self.assertEqual(q["policy"], "ha-all")
        self.assertEqual(sorted(q["slave_nodes"] + [q["node"]]), names)

        # Prometheus scrapes the three exporters, one per node, and sees the
        # queue's depth once, from the node that holds it.
        wait_for(lambda: [t["health"] for t in self.prometheus("/api/v1/targets")
                          ["activeTargets"]] == ["up"] * 3, "the three exporters' targets up",
                 timeout=60, interval=0.5)
        depth = wait_for(lambda: self.prometheus(
            "/api/v1/query", query='rabbitmq_queue_messages_ready{queue="%s"}' % QUEUE)
            ["result"] or None, "the queue's depth in Prometheus", timeout=60, interval=0.5)
        self.assertEqual([r["value"][1] for r in depth], ["1"])

        # The queue's node goes; a mirror takes over, the balancer routes around it.
        q_home = q["node"]
        home = q_home.split("@", 1)[1]
        container = self.compose("ps", "-q", home).stdout.strip()
        docker("kill", container)
        # Until a mirror takes the queue over (its home's lease runs out:
        # docs/mirroring.md), a consumer is refused with 404, as by RabbitMQ
        # before it notices a node is gone. The Consumer comes after.
        wait_for(lambda: (lambda q: q and q["node"] != q_home and
                          q_home not in q.get("synchronised_slave_nodes", []))(self.queue()),
                 "a mirror promoted in the place of " + q_home, timeout=60, interval=0.5)
        code, out, err = self.java("Consumer")
        self.assertEqual(code, 0, "the Consumer after the kill:\n" + out + err)
        self.assertEqual(out.splitlines(), ["hello world"])
        producer_then_consumer(self, self.classes, "127.0.0.1", self.ports["WARREN_AMQP_PORT"])

        self.compose("down", "-v", "--remove-orphans")
        label = "label=com.docker.compose.project=" + self.project
        for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
            left = docker(*kind, "-q", "--filter", label).stdout.split()
            self.assertEqual(left, [], "left after down -v: %s" % " ".join(kind))


if __name__ == "__main__":
    with Engine():
        result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
