"""A disk that fails an fdatasync: the node confirms nothing more, exits with
one clear line and status 74, and its next start serves every message it had
confirmed. The failure comes from fail_sync.cc, preloaded into the node
(WARREN_FAIL_SYNC_LIB), which fails fdatasync while a trigger file exists."""
import os
import subprocess
import tempfile
import unittest

import pika

from common import PERSISTENT, connect, drain, harness

EXIT_STORE_FAILED = 74


class DiskFailureTest(unittest.TestCase):
    def setUp(self):
        if os.environ.get("WARREN_INTEROP_TARGET", "warren") != "warren":
            self.skipTest("injects failures into Warren's node")
        lib = os.environ.get("WARREN_FAIL_SYNC_LIB")
        if not lib or not os.path.isabs(lib):
            self.skipTest("WARREN_FAIL_SYNC_LIB (the fail_sync shim) is not set")
        workdir = tempfile.mkdtemp(prefix="warren-disk-failure-")
        self.trigger = os.path.join(workdir, "fail")
        self.addCleanup(lambda: os.path.exists(self.trigger) and os.remove(self.trigger))
        self.addCleanup(os.rmdir, workdir)
        # Only the node's process gets the shim (it inherits the environment).
        os.environ["LD_PRELOAD"] = lib
        os.environ["WARREN_TEST_FAIL_SYNC"] = self.trigger
        self.addCleanup(os.environ.pop, "WARREN_TEST_FAIL_SYNC", None)
        try:
            self.broker = harness.Broker()
            self.broker.__enter__()
        finally:
            del os.environ["LD_PRELOAD"]
        self.addCleanup(self.broker.stop)

    def wait_exit(self, timeout=30):
        try:
            return self.broker.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("the node kept running after fdatasync failed")

    def test_a_failed_fdatasync_stops_the_node_and_confirmed_messages_survive(self):
        c = connect(self.broker)
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True)
        for i in range(100):
            ch.basic_publish("", "q", b"confirmed-%03d" % i, PERSISTENT)
        open(self.trigger, "w").close()
        with self.assertRaises((pika.exceptions.AMQPError, OSError)):
            # Never confirmed: the node stops instead.
            ch.basic_publish("", "q", b"not-confirmed", PERSISTENT)
        self.assertEqual(self.wait_exit(), EXIT_STORE_FAILED)
        self.broker.stop_node()
        logs = self.broker.logs()
        self.assertIn("fdatasync of", logs)
        self.assertIn("Input/output error; stopping the node so that nothing more is confirmed",
                      logs)

        os.remove(self.trigger)
        self.broker.restart()
        c = connect(self.broker)
        got = [body for body, _, _ in drain(c.channel(), "q", timeout=30)]
        c.close()
        confirmed = [b"confirmed-%03d" % i for i in range(100)]
        self.assertEqual(got[:100], confirmed)
        # The unconfirmed one may or may not have reached the disk.
        self.assertIn(got[100:], ([], [b"not-confirmed"]))


if __name__ == "__main__":
    harness.main()
