"""A damaged newest segment never stops the node: it truncates the log at
the first bad record, says what it dropped, and serves every message that
lies wholly before the damage (issue: durability, "Done when" 3).

WARREN_TEST_SEED replays a run's offsets."""
import glob
import os
import random
import unittest

from common import PERSISTENT, connect, drain, harness

COUNT = 2000
SEED = int(os.environ.get("WARREN_TEST_SEED", str(random.SystemRandom().randrange(1 << 30))))


class CorruptionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        print("seed %d" % SEED)
        cls.rng = random.Random(SEED)

    def setUp(self):
        if os.environ.get("WARREN_INTEROP_TARGET", "warren") != "warren":
            self.skipTest("segment files are Warren's own format")
        self.broker = harness.Broker()
        self.broker.__enter__()
        self.addCleanup(self.broker.stop)
        c = connect(self.broker)
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True)
        for i in range(COUNT):  # equal-sized records: the damage offset says how many survive
            ch.basic_publish("", "q", b"%06d" % i + b"." * 200, PERSISTENT)
        c.close()
        self.broker.stop_node()
        segments = sorted(glob.glob(os.path.join(self.broker.data_dir, "messages", "*.seg")))
        sizes = [os.path.getsize(s) for s in segments]
        self.segment = segments[sizes.index(max(sizes))]
        self.size = max(sizes)
        self.record = self.size // COUNT
        self.assertEqual(self.size, self.record * COUNT, "records are not all the same size")

    def damage_offset(self):
        """A random offset inside some record after the first, not on a boundary."""
        offset = self.rng.randrange(self.record, self.size - 1)
        return offset + 1 if offset % self.record == 0 else offset

    def served(self):
        self.broker.restart()
        c = connect(self.broker)
        got = [int(body[:6]) for body, _, _ in drain(c.channel(), "q", timeout=30)]
        c.close()
        return got

    def test_truncated_at_a_random_offset(self):
        offset = self.damage_offset()
        os.truncate(self.segment, offset)
        self.assertEqual(self.served(), list(range(offset // self.record)), "offset %d" % offset)
        self.assertIn("dropped", self.broker.logs())

    def test_garbage_written_over_a_random_offset(self):
        offset = self.damage_offset()
        with open(self.segment, "r+b") as f:
            f.seek(offset)
            original = f.read(16)
            f.seek(offset)
            f.write(bytes(b ^ 0xFF for b in original))
        self.assertEqual(self.served(), list(range(offset // self.record)), "offset %d" % offset)
        self.assertIn("bad checksum", self.broker.logs())

    def test_garbage_appended(self):
        with open(self.segment, "ab") as f:
            f.write(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 5000))))
        self.assertEqual(self.served(), list(range(COUNT)))
        self.assertIn("dropped", self.broker.logs())

    def test_newer_segments_of_zeros_or_nothing(self):
        folder = os.path.dirname(self.segment)
        number = int(os.path.basename(self.segment)[:20])
        with open(os.path.join(folder, "%020d.seg" % (number + 1)), "wb") as f:
            f.write(b"\0" * 65536)
        open(os.path.join(folder, "%020d.seg" % (number + 2)), "wb").close()
        self.assertEqual(self.served(), list(range(COUNT)))

    def test_damaged_definitions_tail(self):
        with open(os.path.join(self.broker.data_dir, "definitions.log"), "ab") as f:
            f.write(b"\x01\x02\x03 not a record")
        self.assertEqual(len(self.served()), COUNT)
        self.assertIn("definitions.log", self.broker.logs())


if __name__ == "__main__":
    harness.main()
