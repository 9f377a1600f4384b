"""amqp-tools (rabbitmq-c 0.11's command-line clients, Debian amqp-tools)
against a broker: a declared queue round trip with amqp-publish and
amqp-consume (and amqp-get), and amqp-consume's own queue bound to a topic
exchange."""
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class AmqpToolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = harness.Broker().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def args(self, name, *args):
        b = self.broker
        return [name, "--server", b.host, "--port", str(b.port),
                "--username", "guest", "--password", "guest", *args]

    def tool(self, name, *args, expect=0, stdin=None):
        r = subprocess.run(self.args(name, *args), input=stdin, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, expect, "%s %s: exit %d\n%s" % (
            name, " ".join(args), r.returncode, r.stderr.decode(errors="replace")))
        return r.stdout

    def test_publish_then_consume_round_trip(self):
        out = self.tool("amqp-declare-queue", "-q", "tools-queue").decode().strip()
        self.assertEqual(out, "tools-queue")
        # Several body frames at rabbitmq-c's frame-max (128 KiB); from stdin,
        # since one argv string may not exceed 128 KiB.
        body = "round trip ✓ " + "x" * 300000
        self.tool("amqp-publish", "-r", "tools-queue", "-C", "text/plain",
                  "-H", "origin: amqp-tools", stdin=body.encode())
        self.tool("amqp-publish", "-r", "tools-queue", "-b", "second")
        # -c 1: take one message (acked once `cat` exits 0) and stop.
        out = self.tool("amqp-consume", "-q", "tools-queue", "-c", "1", "cat")
        self.assertEqual(out.decode(), body)
        self.assertEqual(self.tool("amqp-get", "-q", "tools-queue"), b"second")
        # amqp-get reports an empty queue (basic.get-empty) with exit status 2.
        self.tool("amqp-get", "-q", "tools-queue", expect=2)

    def test_consume_through_a_topic_binding(self):
        # amqp-consume declares tools-logs (auto-delete), binds it to
        # amq.topic with logs.# and then consumes. Its receiving a marker sent
        # straight to the queue proves the binding exists; until then the
        # marker is resent (one bounded wait per try).
        consumer = subprocess.Popen(
            self.args("amqp-consume", "-q", "tools-logs", "-e", "amq.topic", "-r", "logs.#",
                      "-c", "100", "cat"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = []
        cond = threading.Condition()

        def read():
            for chunk in iter(lambda: consumer.stdout.read1(65536), b""):
                with cond:
                    seen.append(chunk)
                    cond.notify_all()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()

        def cleanup():
            if consumer.poll() is None:
                consumer.kill()
            consumer.wait()
            reader.join(timeout=10)
            consumer.stdout.close()
            consumer.stderr.close()
        self.addCleanup(cleanup)

        def received(text, timeout):
            with cond:
                return cond.wait_for(lambda: text in b"".join(seen), timeout)

        for _ in range(60):
            self.tool("amqp-publish", "-r", "tools-logs", "-b", "marker;")
            if received(b"marker;", 0.5):
                break
            if consumer.poll() is not None:
                self.fail("amqp-consume exited (%d): %s" % (
                    consumer.returncode, consumer.stderr.read().decode(errors="replace")))
        else:
            self.fail("amqp-consume never received a message on tools-logs")
        self.tool("amqp-publish", "-e", "amq.topic", "-r", "metrics.app", "-b", "elsewhere;")
        self.tool("amqp-publish", "-e", "amq.topic", "-r", "logs.app.error", "-b", "logs;")
        self.assertTrue(received(b"logs;", 20), b"".join(seen))
        consumer.terminate()
        consumer.wait(timeout=20)
        got = b"".join(seen).decode()
        # Queue order: a wrongly routed "elsewhere;" would have come before "logs;".
        self.assertNotIn("elsewhere;", got)
        self.assertTrue(got.endswith("logs;"), got)


if __name__ == "__main__":
    harness.main()
