"""The tutorial's Java Producer and Consumer (amqp-client from Debian's
librabbitmq-client-java) against a broker: "hello world" goes through the
direct exchange hello-exchange to hello-queue and out to an auto-ack consumer."""
import glob
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JARS = ["/usr/share/java/amqp-client.jar", "/usr/share/java/slf4j-api.jar"]


class TutorialJavaTest(unittest.TestCase):
    def test_producer_then_consumer_receives_hello_world(self):
        for jar in JARS:
            self.assertTrue(os.path.exists(jar), jar + " missing (librabbitmq-client-java)")
        classes = tempfile.mkdtemp(prefix="warren-java-")
        cp = ":".join(JARS)
        sources = sorted(glob.glob(os.path.join(HERE, "java", "*.java")))
        subprocess.run(["javac", "-encoding", "UTF-8", "-cp", cp, "-d", classes, *sources],
                       check=True, timeout=300)
        run_cp = cp + ":" + classes
        with Broker() as broker:
            env = dict(os.environ, AMQP_HOST=broker.host, AMQP_PORT=str(broker.port))
            producer = subprocess.run(["java", "-cp", run_cp, "Producer"], env=env,
                                      capture_output=True, text=True, timeout=120)
            self.assertEqual(producer.returncode, 0, producer.stderr + broker.logs())
            self.assertIn("消息发送成功", producer.stdout)
            consumer = subprocess.run(["java", "-cp", run_cp, "Consumer"], env=env,
                                      capture_output=True, text=True, timeout=120)
            self.assertEqual(consumer.returncode, 0, consumer.stderr + broker.logs())
            self.assertEqual(consumer.stdout.strip().splitlines()[0], "hello world")


if __name__ == "__main__":
    unittest.main()
