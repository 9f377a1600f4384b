"""Warren's images (docker/README.md), built from the executables of this
build (docker/images.sh --prebuilt) and run by Docker: the node image serves
AMQP to its first user from outside the container, turns healthy, stops
cleanly on SIGTERM and keeps its messages in its volume across a restart;
WARREN_DEFAULT_USER/_PASS choose that user; a cluster secret mounted as
Compose and Kubernetes mount one (readable by others, which the node itself
refuses) is copied by the entrypoint for the node alone to read; the memory
alarm is a share of the container's memory limit; every image runs as a
non-root user with labels and a health check; warren-mgmt and warren-exporter
reach a node container over a Docker network. Ports are published on
127.0.0.1 and chosen free by Docker.

Env: WARREN_NODE_BIN and WARREN_CTL_BIN (the build's binaries: the build
directory is theirs). Skipped (exit 77) where no Docker engine can run."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import pika  # noqa: E402  (Debian's python3-pika)

from docker_engine import Engine, build_prebuilt_images, docker  # noqa: E402
from harness import wait_for  # noqa: E402

IMAGES = ("node", "balancer", "mgmt", "exporter", "prometheus")


def warrenctl(port, *args, user="guest", password="guest"):
    return subprocess.run([os.environ["WARREN_CTL_BIN"], "-n", "127.0.0.1:%d" % port,
                           "-u", user, "-p", password] + list(args),
                          capture_output=True, text=True, timeout=120)


def published(container, port):
    out = docker("port", container, "%d/tcp" % port).stdout.splitlines()[0]
    return int(out.rsplit(":", 1)[1])


def http_get(port, path, auth=None):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if auth:
        request.add_header("Authorization",
                           "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


class ImagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        print("\n" + build_prebuilt_images(), file=sys.stderr)  # each image's size

    def setUp(self):
        self.tag = "warren-e2e-" + uuid.uuid4().hex[:8]

    def run_container(self, image, *args, name=None, ports=(), env=(), volume=None,
                      network=None, alias=None, mounts=(), memory=None):
        name = name or "%s-%s" % (self.tag, image)
        cmd = ["run", "-d", "--name", name]
        if memory:
            cmd += ["--memory", memory]
        for m in mounts:
            cmd += ["-v", m]
        for p in ports:
            cmd += ["-p", "127.0.0.1::%d" % p]
        for e in env:
            cmd += ["-e", e]
        if volume:
            cmd += ["-v", "%s:/var/lib/warren" % volume]
        if network:
            cmd += ["--network", network]
        if alias:
            cmd += ["--network-alias", alias]
        docker(*(cmd + ["warren-%s:latest" % image] + list(args)))
        self.addCleanup(self.remove, name)
        return name

    def remove(self, name):
        if self._outcome.result is not None and not self._outcome.success:
            logs = docker("logs", name, check=False)
            print("---- logs of %s ----\n%s" % (name, logs.stdout + logs.stderr), file=sys.stderr)
        docker("rm", "-f", "-v", name, check=False)

    def volume(self):
        name = self.tag + "-data"
        docker("volume", "create", name)
        self.addCleanup(lambda: docker("volume", "rm", "-f", name, check=False))
        return name

    def await_node(self, grpc_port, **login):
        r = warrenctl(grpc_port, "-t", "60", "await_startup", **login)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def amqp(self, port, user="guest", password="guest"):
        c = pika.BlockingConnection(pika.ConnectionParameters(
            "127.0.0.1", port, "/", pika.PlainCredentials(user, password), heartbeat=0,
            connection_attempts=1))
        self.addCleanup(self.close, c)
        return c

    @staticmethod
    def close(connection):
        try:
            if connection.is_open:
                connection.close()
        except pika.exceptions.AMQPError:
            pass  # the node closed it first

    def health(self, name):
        return docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()

    def test_the_node_serves_its_first_user_stops_on_sigterm_and_keeps_its_messages(self):
        node = self.run_container("node", ports=(5672, 25672), volume=self.volume(),
                                  env=("WARREN_NODE_NAME=warren@node1",))
        self.await_node(published(node, 25672))
        # guest from outside the container: allowed in this image, as in RabbitMQ's.
        client = self.amqp(published(node, 5672))
        ch = client.channel()
        ch.confirm_delivery()
        ch.queue_declare("kept", durable=True)
        ch.basic_publish("", "kept", b"through the restart",
                         pika.BasicProperties(delivery_mode=2), mandatory=True)
        wait_for(lambda: self.health(node) == "healthy", "the node's HEALTHCHECK", timeout=60)

        stop = docker("stop", "-t", "30", node)
        self.assertEqual(stop.returncode, 0)
        state = json.loads(docker("inspect", node).stdout)[0]["State"]
        self.assertEqual(state["ExitCode"], 0, "SIGTERM as PID 1 ends in a clean stop")
        logs = docker("logs", node)
        logs = logs.stderr + logs.stdout
        self.assertIn("signal 15 received, stopping", logs)
        self.assertRegex(logs, r"\[info\] stopped\n")
        with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as closed:
            client.process_data_events()
        self.assertEqual(closed.exception.reply_code, 320, "CONNECTION_FORCED, as RabbitMQ")

        docker("start", node)  # the same volume: the message was confirmed
        self.await_node(published(node, 25672))
        method, _, body = self.amqp(published(node, 5672)).channel().basic_get("kept",
                                                                              auto_ack=True)
        self.assertEqual(body, b"through the restart")

    def exited(self, name):
        """The container's exit status and logs, once it has exited."""
        wait_for(lambda: docker("inspect", "-f", "{{.State.Status}}", name).stdout.strip()
                 == "exited", name + " exited", timeout=60)
        logs = docker("logs", name)
        return json.loads(docker("inspect", name).stdout)[0]["State"]["ExitCode"], \
            logs.stdout + logs.stderr

    def test_a_mounted_cluster_secret_is_copied_for_the_node_alone_to_read(self):
        # As Compose mounts a secret: root's file, readable by all.
        folder = tempfile.mkdtemp(prefix="warren-e2e-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        secret = os.path.join(folder, "cluster-secret")
        with open(secret, "w") as f:
            f.write("MOUNTED-SECRET-" + uuid.uuid4().hex + "\n")
        os.chmod(secret, 0o644)
        mount = secret + ":/run/secrets/cluster_secret:ro"
        # Given to the node as it is, it is refused: others may read it.
        direct = self.run_container(
            "node", name=self.tag + "-direct", mounts=(mount,),
            env=("WARREN_CLUSTER_SECRET_FILE=/run/secrets/cluster_secret",))
        code, logs = self.exited(direct)
        self.assertNotEqual(code, 0)
        self.assertIn("must be accessible by its owner only", logs)
        # Through the entrypoint: a private copy in the data directory.
        node = self.run_container("node", ports=(25672,), mounts=(mount,),
                                  env=("WARREN_CLUSTER_SECRET_FROM=/run/secrets/cluster_secret",))
        self.await_node(published(node, 25672))
        copy = "/var/lib/warren/cluster-secret"
        self.assertEqual(docker("exec", node, "stat", "-c", "%a %U", copy).stdout.split(),
                         ["600", "warren"])
        with open(secret) as f:
            self.assertEqual(docker("exec", node, "cat", copy).stdout, f.read())
        logs = docker("logs", node)
        self.assertIn("cluster secret read from " + copy, logs.stdout + logs.stderr)
        # A secret that is not there stops the start, saying which.
        missing = self.run_container(
            "node", name=self.tag + "-missing",
            env=("WARREN_CLUSTER_SECRET_FROM=/run/secrets/absent",))
        code, logs = self.exited(missing)
        self.assertEqual(code, 2)
        self.assertIn("WARREN_CLUSTER_SECRET_FROM=/run/secrets/absent cannot be read", logs)

    def test_the_memory_watermark_is_a_share_of_the_containers_memory_limit(self):
        node = self.run_container("node", ports=(25672,), memory="512m")
        self.await_node(published(node, 25672))
        logs = docker("logs", node)
        # 0.4 of 512 MiB, not of the machine's RAM (docs/durability.md).
        self.assertIn("memory high watermark 204 MiB", logs.stdout + logs.stderr)

    def test_warren_default_user_and_pass_choose_the_first_user(self):
        node = self.run_container("node", ports=(5672, 25672),
                                  env=("WARREN_DEFAULT_USER=ops", "WARREN_DEFAULT_PASS=s3cret"))
        self.await_node(published(node, 25672), user="ops", password="s3cret")
        self.assertTrue(self.amqp(published(node, 5672), "ops", "s3cret").is_open)
        with self.assertRaises(pika.exceptions.ProbableAuthenticationError):
            self.amqp(published(node, 5672))  # no guest on this node
        wait_for(lambda: self.health(node) == "healthy",
                 "the HEALTHCHECK logs in as the first user", timeout=60)

    def test_every_image_runs_as_a_non_root_user_with_labels_and_a_health_check(self):
        for image in IMAGES:
            config = json.loads(docker("image", "inspect", "warren-%s:latest" % image).stdout)[0]
            config = config["Config"]
            self.assertEqual(config["User"], "warren", image)
            self.assertEqual(config["Labels"]["org.opencontainers.image.title"],
                             "warren-" + image)
            self.assertTrue(config["Healthcheck"]["Test"], image)
            self.assertEqual(config["StopSignal"], "SIGTERM", image)

    def test_mgmt_and_exporter_reach_a_node_container_over_a_network(self):
        network = self.tag + "-net"
        docker("network", "create", network)
        self.addCleanup(lambda: docker("network", "rm", network, check=False))
        node = self.run_container("node", ports=(25672,), network=network, alias="node1",
                                  env=("WARREN_NODE_NAME=warren@node1",))
        self.await_node(published(node, 25672))
        mgmt = self.run_container("mgmt", "--nodes", "node1:25672", ports=(15672,),
                                  network=network)
        exporter = self.run_container("exporter", "--nodes", "node1:25672", ports=(15692,),
                                      network=network)

        def overview():
            try:
                return http_get(published(mgmt, 15672), "/api/overview", "guest:guest")
            except OSError:
                return None
        status, body = wait_for(overview, "warren-mgmt answering", timeout=60)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["node"], "warren@node1")

        def metrics():
            try:
                status, text = http_get(published(exporter, 15692), "/metrics")
            except OSError:
                return None
            return text if "rabbitmq_identity_info" in text else None
        text = wait_for(metrics, "warren-exporter serving the node's metrics", timeout=60)
        self.assertRegex(text, r'rabbitmq_identity_info\{[^}]*rabbitmq_node="warren@node1"')
        for name in (mgmt, exporter):
            wait_for(lambda: self.health(name) == "healthy", name + "'s HEALTHCHECK", timeout=60)


if __name__ == "__main__":
    with Engine():
        result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
