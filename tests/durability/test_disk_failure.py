"""A disk that fails, through fail_disk.cc preloaded into the node
(WARREN_FAIL_DISK_LIB; the test creates a trigger file to make it fail):
- an fdatasync that fails: the node confirms nothing more, exits with one
  clear line and status 74, and its next start serves every message it had
  confirmed;
- a full disk: the publisher gets connection.blocked and no confirm until
  space is back, then the confirm and connection.unblocked; nothing is lost
  or doubled."""
import os
import subprocess
import tempfile
import threading
import time
import unittest

import pika

from common import PERSISTENT, connect, drain, harness, wait_for_log

EXIT_STORE_FAILED = 74


class DiskFailureTest(unittest.TestCase):
    def setUp(self):
        if os.environ.get("WARREN_INTEROP_TARGET", "warren") != "warren":
            self.skipTest("injects failures into Warren's node")
        lib = os.environ.get("WARREN_FAIL_DISK_LIB")
        if not lib or not os.path.isabs(lib):
            self.skipTest("WARREN_FAIL_DISK_LIB (the fail_disk shim) is not set")
        workdir = tempfile.mkdtemp(prefix="warren-disk-failure-")
        self.fail_sync = os.path.join(workdir, "fail-sync")
        self.full_disk = os.path.join(workdir, "full-disk")
        self.addCleanup(os.rmdir, workdir)  # cleanups run last-in first-out
        for trigger in (self.fail_sync, self.full_disk):
            self.addCleanup(lambda t=trigger: os.path.exists(t) and os.remove(t))
        # Only the node's process gets the shim (it inherits the environment).
        os.environ["LD_PRELOAD"] = lib
        os.environ["WARREN_TEST_FAIL_SYNC"] = self.fail_sync
        os.environ["WARREN_TEST_FULL_DISK"] = self.full_disk
        self.addCleanup(os.environ.pop, "WARREN_TEST_FAIL_SYNC", None)
        self.addCleanup(os.environ.pop, "WARREN_TEST_FULL_DISK", None)
        try:
            self.broker = harness.Broker()
            self.broker.__enter__()
        finally:
            del os.environ["LD_PRELOAD"]
        self.addCleanup(self.broker.stop)

    def publish_confirmed(self, channel, bodies):
        for body in bodies:
            channel.basic_publish("", "q", body, PERSISTENT)

    def served(self):
        c = connect(self.broker)
        got = [body for body, _, _ in drain(c.channel(), "q", timeout=30)]
        c.close()
        return got

    def test_a_failed_fdatasync_stops_the_node_and_confirmed_messages_survive(self):
        c = connect(self.broker)
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True)
        confirmed = [b"confirmed-%03d" % i for i in range(100)]
        self.publish_confirmed(ch, confirmed)
        open(self.fail_sync, "w").close()
        with self.assertRaises((pika.exceptions.AMQPError, OSError)):
            # Never confirmed: the node stops instead.
            ch.basic_publish("", "q", b"not-confirmed", PERSISTENT)
        try:
            status = self.broker.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("the node kept running after fdatasync failed")
        self.assertEqual(status, EXIT_STORE_FAILED)
        self.broker.stop_node()
        logs = self.broker.logs()
        self.assertIn("fdatasync of", logs)
        self.assertIn("Input/output error; stopping the node so that nothing more is confirmed",
                      logs)

        os.remove(self.fail_sync)
        self.broker.restart()
        got = self.served()
        self.assertEqual(got[:100], confirmed)
        # The unconfirmed one may or may not have reached the disk.
        self.assertIn(got[100:], ([], [b"not-confirmed"]))

    def test_a_full_disk_blocks_publishers_until_there_is_space(self):
        c = connect(self.broker)
        events = []
        c.add_on_connection_blocked_callback(lambda conn, m: events.append(m.method.reason))
        c.add_on_connection_unblocked_callback(lambda conn, m: events.append("unblocked"))
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True)
        self.publish_confirmed(ch, [b"before-%d" % i for i in range(10)])
        open(self.full_disk, "w").close()
        outcome = []

        def publisher():  # owns the connection until the confirm arrives
            try:
                ch.basic_publish("", "q", b"while-full", PERSISTENT)
                outcome.append("confirmed")
            except Exception as e:  # reported by the main thread
                outcome.append(e)

        sender = threading.Thread(target=publisher, daemon=True)
        sender.start()
        wait_for_log(self.broker, "disk alarm set: the store cannot write", timeout=30)
        self.assertIn("No space left on device", self.broker.logs())
        # Nothing reached the disk, so nothing can have been confirmed.
        self.assertEqual(outcome, [])
        os.remove(self.full_disk)
        wait_for_log(self.broker, "disk alarm cleared", timeout=30)
        sender.join(30)
        self.assertFalse(sender.is_alive(), "never confirmed after the disk had space again")
        self.assertEqual(outcome, ["confirmed"])
        deadline = time.monotonic() + 30
        while "unblocked" not in events and time.monotonic() < deadline:
            c.process_data_events(time_limit=0.05)  # hands pika's queued callbacks over
        self.assertEqual(events, ["low on disk", "unblocked"])
        c.close()

        self.broker.restart()
        self.assertEqual(self.served(), [b"before-%d" % i for i in range(10)] + [b"while-full"])


if __name__ == "__main__":
    harness.main()
