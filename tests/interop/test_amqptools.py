"""amqp-tools (rabbitmq-c's command-line clients, Debian amqp-tools) against
a broker: declare a queue, publish with amqp-publish, read it back with
amqp-consume and amqp-get."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402


class AmqpToolsTest(unittest.TestCase):
    def tool(self, broker, name, *args, stdin=None):
        cmd = [name, "--server", broker.host, "--port", str(broker.port),
               "--username", "guest", "--password", "guest", *args]
        r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, "%s failed: %s\n%s" % (cmd, r.stderr.decode(),
                                                                 broker.logs()))
        return r.stdout

    def test_publish_then_consume_round_trip(self):
        with Broker() as b:
            name = self.tool(b, "amqp-declare-queue", "-q", "tools-queue").decode().strip()
            self.assertEqual(name, "tools-queue")
            body = "round trip ✓ " + "x" * 5000
            self.tool(b, "amqp-publish", "-r", "tools-queue", "-C", "text/plain",
                      "-H", "origin: amqp-tools", "-b", body)
            self.tool(b, "amqp-publish", "-r", "tools-queue", "-b", "second")
            out = self.tool(b, "amqp-consume", "-q", "tools-queue", "-c", "1", "cat")
            self.assertEqual(out.decode(), body)
            out = self.tool(b, "amqp-get", "-q", "tools-queue")
            self.assertEqual(out.decode(), "second")
            r = subprocess.run(["amqp-get", "--server", b.host, "--port", str(b.port),
                                "-q", "tools-queue"], capture_output=True, timeout=60)
            self.assertNotEqual(r.returncode, 0, "amqp-get on an empty queue must fail")

    def test_consume_from_exchange_binding(self):
        with Broker() as b:
            consumer = subprocess.Popen(
                ["amqp-consume", "--server", b.host, "--port", str(b.port), "-e", "amq.topic",
                 "-r", "logs.#", "-c", "2", "cat"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                # The consumer binds its own exclusive queue; publish until both
                # messages land after the binding exists (each publish is a
                # full connection, so the loop is bounded by the count).
                for i in range(200):
                    self.tool(b, "amqp-publish", "-e", "amq.topic", "-r", "logs.app",
                              "-b", "line%d;" % i)
                    if consumer.poll() is not None:
                        break
                out, err = consumer.communicate(timeout=60)
            finally:
                if consumer.poll() is None:
                    consumer.kill()
            self.assertEqual(consumer.returncode, 0, err.decode())
            lines = out.decode().split(";")[:2]
            self.assertEqual(len(lines), 2)
            self.assertTrue(all(l.startswith("line") for l in lines), out)


if __name__ == "__main__":
    unittest.main()
