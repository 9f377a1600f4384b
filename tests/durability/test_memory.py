"""Memory stays bounded: past a share of the memory limit queues keep message
bodies on disk, and past the limit the memory alarm blocks publishers with
connection.blocked while consumers go on (issue: durability, "Done when" 4
at small scale, and 5). The full-size run is bench/memory_paging.sh."""
import time
import unittest

import pika

from common import PERSISTENT, TRANSIENT, connect, harness

MiB = 1 << 20


def peak_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM for pid %d" % pid)


def wait_until(condition, connection, what, timeout=30.0):
    """Processes `connection`'s events until `condition()` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        connection.process_data_events(time_limit=0.05)


class PagingTest(unittest.TestCase):
    LIMIT = 64 * MiB
    MARGIN = 32 * MiB
    TOTAL = 256 * MiB
    BODY = 4096

    def test_a_queue_four_times_the_memory_limit_stays_on_disk_and_drains_in_order(self):
        config = '[alarms]\nmemory_limit = "%dMiB"\n' % (self.LIMIT // MiB)
        count = self.TOTAL // self.BODY
        with harness.Broker(extra_config=config) as broker:
            blocked = []
            # If paging failed, the alarm would block this publisher: fail
            # then rather than wait forever.
            c = connect(broker, blocked_connection_timeout=30)
            c.add_on_connection_blocked_callback(lambda *a: blocked.append(True))
            ch = c.channel()
            ch.queue_declare("big", durable=True)
            filler = b"." * (self.BODY - 8)
            for i in range(count):
                ch.basic_publish("", "big", b"%08d" % i + filler, PERSISTENT)
            # A confirmed publish on a second channel: everything before it
            # on this connection has been handled by the node.
            sentinel = c.channel()
            sentinel.confirm_delivery()
            sentinel.basic_publish("", "other", b"", PERSISTENT)
            depth = ch.queue_declare("big", durable=True, passive=True).method.message_count
            self.assertEqual(depth, count)
            self.assertEqual(blocked, [], "the memory alarm went off: paging did not keep up")
            peak = peak_rss(broker.proc.pid)
            print("%d MiB queued, limit %d MiB, peak RSS %.1f MiB"
                  % (self.TOTAL // MiB, self.LIMIT // MiB, peak / MiB))
            self.assertLess(peak, self.LIMIT + self.MARGIN)

            ch.basic_qos(prefetch_count=500)
            expected = 0
            for method, _, body in ch.consume("big", auto_ack=True, inactivity_timeout=10):
                self.assertIsNotNone(method, "the queue stopped short at %d" % expected)
                self.assertEqual(int(body[:8]), expected)
                self.assertEqual(len(body), self.BODY)
                expected += 1
                if expected == count:
                    break
            ch.cancel()
            c.close()


class MemoryAlarmTest(unittest.TestCase):
    # Small enough that the socket buffers hold many: a publish never waits
    # on a node that has stopped reading before connection.blocked is seen.
    BODY = 32 * 1024

    def test_publisher_blocked_consumer_served_then_unblocked(self):
        # Paging off (ratio above 1), so queued bodies count against the limit.
        config = '[alarms]\nmemory_limit = "48MiB"\npaging_ratio = 2.0\n'
        with harness.Broker(extra_config=config) as broker:
            events = []
            pub = connect(broker)
            pub.add_on_connection_blocked_callback(lambda c, m: events.append(m.method.reason))
            pub.add_on_connection_unblocked_callback(lambda c, m: events.append("unblocked"))
            pch = pub.channel()
            pch.queue_declare("flood")
            body = b"x" * self.BODY
            published = 0
            while not events:
                self.assertLess(published, 20000, "no connection.blocked after %d MiB"
                                % (published * self.BODY // MiB))
                pch.basic_publish("", "flood", b"%08d" % published + body, TRANSIENT)
                published += 1
                pub.process_data_events(time_limit=0)
            self.assertEqual(events, ["low on memory"])
            # Sent after the block: the node must not read it until unblocked.
            pch.basic_publish("", "flood", b"marker", TRANSIENT)

            con = connect(broker)
            cch = con.channel()
            cch.basic_qos(prefetch_count=10)
            deliveries = cch.consume("flood", inactivity_timeout=30)
            # Ten deliveries, unacked, free nothing: the alarm is certainly
            # still on while the consumer is served.
            first = [next(deliveries) for _ in range(10)]
            self.assertTrue(all(m is not None for m, _, _ in first), "consumer starved")
            pub.process_data_events(time_limit=0)
            self.assertEqual(events, ["low on memory"], "unblocked before memory was freed")
            cch.basic_ack(first[-1][0].delivery_tag, multiple=True)
            got_marker = False
            for method, _, b in deliveries:
                self.assertIsNotNone(method, "the consumer stalled")
                cch.basic_ack(method.delivery_tag)
                if b == b"marker":
                    got_marker = True
                    break
            self.assertTrue(got_marker)
            # The node sends connection.unblocked before it reads the marker.
            wait_until(lambda: "unblocked" in events, pub, "connection.unblocked")
            self.assertEqual(events, ["low on memory", "unblocked"])
            pch.confirm_delivery()
            pch.basic_publish("", "flood", b"after", TRANSIENT)  # confirmed: publishing works
            cch.cancel()
            con.close()
            pub.close()
            self.assertIn("memory alarm set", broker.logs())
            self.assertIn("memory alarm cleared", broker.logs())


if __name__ == "__main__":
    harness.main()
