"""Damaged segments never stop the node and lose only what is damaged: recovery
skips the damaged records, carries on with the next intact one, keeps a copy of
what it skipped under <data_dir>/damaged and says how much was lost; only the
newest segment's torn tail is cut off. A damaged definitions log tail is left
out the same way.

WARREN_TEST_SEED replays a run's offsets."""
import glob
import os
import random
import re
import unittest

from common import PERSISTENT, connect, drain, harness

COUNT = 2000
HEADER = 64  # every segment starts with a file header
SEED = int(os.environ.get("WARREN_TEST_SEED", str(random.SystemRandom().randrange(1 << 30))))


def own_node(test):
    """A warren-node for `test` alone, stopped at its cleanup; other brokers
    skip the test (segment files are Warren's own format)."""
    if os.environ.get("WARREN_INTEROP_TARGET", "warren") != "warren":
        test.skipTest("segment files are Warren's own format")
    broker = harness.Broker()
    broker.__enter__()
    test.addCleanup(broker.stop)
    return broker


class CorruptionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        print("seed %d" % SEED)
        cls.rng = random.Random(SEED)

    def setUp(self):
        self.broker = own_node(self)
        self.publish(COUNT)
        self.broker.stop_node()
        segments = sorted(glob.glob(os.path.join(self.broker.data_dir, "messages", "*.seg")))
        sizes = [os.path.getsize(s) for s in segments]
        self.segment = segments[sizes.index(max(sizes))]
        self.size = max(sizes)
        self.record = (self.size - HEADER) // COUNT
        self.assertEqual(self.size, HEADER + self.record * COUNT, "records are not all the same size")

    def publish(self, count):
        """Confirmed persistent messages, all the same size: an offset says which one it is in."""
        c = connect(self.broker)
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True)
        for i in range(count):
            ch.basic_publish("", "q", b"%06d" % i + b"." * 200, PERSISTENT)
        c.close()

    def damage_offset(self):
        """A random offset inside some record after the first, not on a boundary."""
        offset = self.rng.randrange(HEADER + self.record, self.size - 1)
        return offset + 1 if (offset - HEADER) % self.record == 0 else offset

    def index(self, offset):
        return (offset - HEADER) // self.record

    def served(self):
        self.broker.restart()
        # Before draining, which lets the segment be reclaimed.
        self.size_after = os.path.getsize(self.segment)
        c = connect(self.broker)
        got = [int(body[:6]) for body, _, _ in drain(c.channel(), "q", timeout=30)]
        c.close()
        return got

    def copies(self):
        return sorted(glob.glob(os.path.join(self.broker.data_dir, "damaged", "*")))

    def test_truncated_at_a_random_offset(self):
        offset = self.damage_offset()
        os.truncate(self.segment, offset)
        self.assertEqual(self.served(), list(range(self.index(offset))), "offset %d" % offset)
        self.assertIn("last write was cut short", self.broker.logs())
        self.assertEqual(self.size_after, HEADER + self.index(offset) * self.record)
        self.assertEqual(len(self.copies()), 1)

    def test_garbage_written_over_a_random_offset(self):
        offset = self.damage_offset()
        with open(self.segment, "r+b") as f:
            f.seek(offset)
            original = f.read(16)
            f.seek(offset)
            f.write(bytes(b ^ 0xFF for b in original))
        lost = set(range(self.index(offset), self.index(offset + 15) + 1))
        expected = [i for i in range(COUNT) if i not in lost]
        self.assertEqual(self.served(), expected, "offset %d" % offset)
        self.assertEqual(self.size_after, self.size, "the segment was cut")
        copies = self.copies()
        self.assertEqual(len(copies), 1)
        with open(copies[0], "rb") as f:
            self.assertIn(bytes(b ^ 0xFF for b in original), f.read())
        # Each damaged record began with the segment's marker, unless the
        # damage hit the marker itself: "at least" that many.
        said = re.search(r"lost at least (\d+) records? \(", self.broker.logs())
        self.assertIsNotNone(said, self.broker.logs())
        self.assertTrue(1 <= int(said.group(1)) <= len(lost), said.group(0))
        self.assertIn("bad checksum", self.broker.logs())

    def test_garbage_appended(self):
        with open(self.segment, "ab") as f:
            f.write(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 5000))))
        self.assertEqual(self.served(), list(range(COUNT)))
        self.assertIn("last write was cut short", self.broker.logs())
        self.assertEqual(self.size_after, self.size)

    def test_newer_segments_of_zeros_or_nothing(self):
        folder = os.path.dirname(self.segment)
        number = int(os.path.basename(self.segment)[:20])
        with open(os.path.join(folder, "%020d.seg" % (number + 1)), "wb") as f:
            f.write(b"\0" * 65536)
        open(os.path.join(folder, "%020d.seg" % (number + 2)), "wb").close()
        self.assertEqual(self.served(), list(range(COUNT)))
        self.assertEqual(self.copies(), [], "zeros are not worth a copy")

    def test_damaged_definitions_tail(self):
        with open(os.path.join(self.broker.data_dir, "definitions.log"), "ab") as f:
            f.write(b"\x01\x02\x03 not a record")
        self.assertEqual(len(self.served()), COUNT)
        self.assertIn("definitions.log: its last write was cut short", self.broker.logs())
        self.assertEqual(len(self.copies()), 1)


class MidSegmentDamageTest(unittest.TestCase):
    """The review's case: 10,000 confirmed messages, four corrupt bytes in the
    middle of the segment; only the message they hit is lost."""

    COUNT = 10000

    def setUp(self):
        self.broker = own_node(self)

    def test_four_corrupt_bytes_lose_one_message(self):
        c = connect(self.broker)
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True)
        for i in range(self.COUNT):
            ch.basic_publish("", "q", b"<%06d>" % i + b"." * 100, PERSISTENT)
        c.close()
        self.broker.stop_node()
        segment = max(glob.glob(os.path.join(self.broker.data_dir, "messages", "*.seg")),
                      key=os.path.getsize)
        with open(segment, "r+b") as f:
            data = f.read()
            at = data.index(b"<%06d>" % (self.COUNT // 2)) + 50
            f.seek(at)
            f.write(b"\xde\xad\xbe\xef")
        self.broker.restart()
        c = connect(self.broker)
        got = [int(body[1:7]) for body, _, _ in drain(c.channel(), "q", timeout=60)]
        c.close()
        self.assertEqual(got, [i for i in range(self.COUNT) if i != self.COUNT // 2])
        logs = self.broker.logs()
        self.assertIn("lost at least 1 record (", logs)
        self.assertRegex(logs, r"recovery skipped 1 damaged range of the message log: \d+ bytes, "
                               r"at least 1 record lost")
        m = re.search(r"a copy is at (\S+)", logs)
        self.assertIsNotNone(m, logs)
        with open(m.group(1), "rb") as f:
            copy = f.read()
        self.assertIn(b"\xde\xad\xbe\xef", copy)
        self.assertIn(b"<%06d>" % (self.COUNT // 2), copy)


if __name__ == "__main__":
    harness.main()
