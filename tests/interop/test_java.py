"""The tutorial's Java Producer and Consumer (section 6; amqp-client 5.0.0 from
Debian's librabbitmq-client-java), compiled at test time, against a broker:
the Producer declares the direct exchange hello-exchange (non-durable,
auto-delete) and the queue hello-queue, binds them with the key hello-queue
and publishes "hello world"; the Consumer, run afterwards, must print it.

Order matters and works: the Producer's connection is gone before the
Consumer starts, but the queue is neither exclusive nor auto-delete, so it
keeps the message; the auto-delete exchange would only go once its last
binding does, which never happens here."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# Section 4.2 of the tutorial, line for line, with warrenctl for rabbitmqctl.
TUTORIAL_SETUP = [
    'warrenctl add_user admin 123456',
    'warrenctl set_user_tags admin administrator',
    'warrenctl set_permissions -p "/" admin ".*" ".*" ".*"',
    'warrenctl list_users',
]
# Without the harness's own admin/123456: the tutorial's commands make it.
NO_ADMIN = {"vhosts": [], "users": [], "permissions": []}

HERE = os.path.dirname(os.path.abspath(__file__))
# slf4j-api is what amqp-client logs through; slf4j-nop keeps it quiet.
JARS = ["/usr/share/java/amqp-client.jar", "/usr/share/java/slf4j-api.jar",
        "/usr/share/java/slf4j-nop.jar"]
# Java 17 writes System.out in the locale's charset; ctest's may be C/POSIX.
JAVA = ["java", "-Dfile.encoding=UTF-8", "-Dsun.stdout.encoding=UTF-8"]


def compile_tutorial(test, sources_dir=os.path.join(HERE, "java")):
    """The tutorial's classes (or those in `sources_dir`) compiled into a
    directory `test` removes."""
    for jar in JARS:
        test.assertTrue(os.path.exists(jar), jar + " is missing (apt-get install "
                        "librabbitmq-client-java libslf4j-java)")
    classes = tempfile.mkdtemp(prefix="warren-java-")
    test.addCleanup(shutil.rmtree, classes, ignore_errors=True)
    sources = sorted(glob.glob(os.path.join(sources_dir, "*.java")))
    javac = subprocess.run(["javac", "-encoding", "UTF-8", "-cp", ":".join(JARS),
                            "-d", classes, *sources],
                           capture_output=True, text=True, timeout=300)
    test.assertEqual(javac.returncode, 0, "javac failed:\n" + javac.stdout + javac.stderr)
    return classes


def run_java(classes, host, port, main_class, wait_seconds=30):
    """(exit status, stdout, stderr) of the tutorial's `main_class` as admin/123456."""
    env = dict(os.environ, AMQP_HOST=host, AMQP_PORT=str(port), AMQP_USER="admin",
               AMQP_PASSWORD="123456", CONSUMER_WAIT_SECONDS=str(wait_seconds))
    r = subprocess.run(JAVA + ["-cp", ":".join(JARS + [classes]), main_class],
                       env=env, capture_output=True, timeout=wait_seconds + 90)
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"))


def producer_then_consumer(test, classes, host, port):
    """Producer sends as admin/123456; Consumer, run afterwards, prints it."""
    code, out, err = run_java(classes, host, port, "Producer")
    test.assertEqual(code, 0, "Producer failed as admin/123456:\n" + out + err)
    test.assertEqual(out.splitlines(), ["消息发送成功"])
    code, out, err = run_java(classes, host, port, "Consumer")
    test.assertEqual(code, 0, "Consumer got no message within 30 s:\n" + out + err)
    test.assertEqual(out.splitlines(), ["hello world"])


class TutorialJavaTest(unittest.TestCase):
    def setUp(self):
        self.classes = compile_tutorial(self)

    def java(self, broker, main_class):
        return run_java(self.classes, broker.host, broker.port, main_class)

    def producer_then_consumer(self, broker):
        producer_then_consumer(self, self.classes, broker.host, broker.port)

    def test_producer_then_consumer_prints_hello_world(self):
        with harness.Broker() as broker:
            self.producer_then_consumer(broker)

    def test_tutorial_setup_with_warrenctl_then_producer_and_consumer(self):
        if os.environ.get("WARREN_INTEROP_TARGET") == "rabbitmq":
            self.skipTest("warrenctl drives Warren's Admin service")
        ctl = os.environ.get("WARREN_CTL_BIN")
        self.assertTrue(ctl and os.access(ctl, os.X_OK), "WARREN_CTL_BIN must name warrenctl")
        with harness.Broker(definitions=NO_ADMIN) as broker:
            code, _, _ = self.java(broker, "Producer")
            self.assertNotEqual(code, 0, "admin/123456 logged in before add_user")
            # As an operator types them: warrenctl on PATH, the node from the environment.
            env = dict(os.environ, PATH=os.path.dirname(ctl) + ":" + os.environ["PATH"],
                       WARREN_NODE="127.0.0.1:%d" % broker.grpc_port)
            outputs = []
            for line in TUTORIAL_SETUP:
                r = subprocess.run(["bash", "-c", line], env=env, capture_output=True,
                                   text=True, timeout=60)
                self.assertEqual(r.returncode, 0, "%s failed:\n%s%s" % (line, r.stdout, r.stderr))
                outputs.append(r.stdout)
            users = dict(row.split("\t", 1) for row in outputs[-1].splitlines()
                         if "\t" in row)
            self.assertEqual(users.get("admin"), "[administrator]")
            self.producer_then_consumer(broker)


if __name__ == "__main__":
    harness.main()
