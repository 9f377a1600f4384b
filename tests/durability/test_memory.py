"""Memory stays bounded: past a share of the memory limit queues keep message
bodies on disk, and past the limit the memory alarm blocks publishers with
connection.blocked while consumers go on (issue: durability, "Done when" 4
at small scale, and 5). The full-size run is bench/memory_paging.sh.

Memory is the node's resident set as the kernel reports it in
/proc/PID/status: VmHWM, the peak over the node's whole life, so no moment
between samples is missed."""
import threading
import time
import unittest

import pika

from common import PERSISTENT, TRANSIENT, connect, harness, wait_for_log

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


def publish_confirmed(broker, queue, count, body, window=256, timeout=120.0):
    """Publishes `count` persistent messages `body(i)` to the durable `queue`
    with up to `window` unconfirmed, on pika's asynchronous connection (the
    blocking one waits for each confirm). Returns once all are confirmed;
    fails on a nack, on connection.blocked, or after `timeout` seconds."""
    state = {"sent": 0, "error": None}
    unconfirmed = set()
    params = pika.ConnectionParameters(broker.host, broker.port, heartbeat=0)

    def fail(conn, error):
        if state["error"] is None:
            state["error"] = error
        if not (conn.is_closing or conn.is_closed):
            conn.close()

    def fill(conn, ch):
        while state["sent"] < count and len(unconfirmed) < window:
            ch.basic_publish("", queue, body(state["sent"]), PERSISTENT)
            state["sent"] += 1
            unconfirmed.add(state["sent"])  # delivery tags count from 1
        if not unconfirmed:
            conn.close()

    def on_confirm(conn, ch, frame):
        m = frame.method
        if isinstance(m, pika.spec.Basic.Nack):
            return fail(conn, "message %d was nacked" % m.delivery_tag)
        done = {t for t in unconfirmed if t <= m.delivery_tag} if m.multiple else {m.delivery_tag}
        unconfirmed.difference_update(done)
        fill(conn, ch)

    def on_channel(conn, ch):
        ch.confirm_delivery(lambda f: on_confirm(conn, ch, f),
                            callback=lambda _: ch.queue_declare(
                                queue, durable=True, callback=lambda _: fill(conn, ch)))

    def on_open(conn):
        conn.add_on_connection_blocked_callback(
            lambda c, m: fail(conn, "connection.blocked (%s) after %d messages"
                              % (m.method.reason, state["sent"])))
        conn.ioloop.call_later(timeout, lambda: fail(conn, "not all confirmed in %.0fs: %d sent, "
                                                     "%d unconfirmed" % (timeout, state["sent"],
                                                                         len(unconfirmed))))
        conn.channel(on_open_callback=lambda ch: on_channel(conn, ch))

    conn = pika.SelectConnection(
        params, on_open_callback=on_open,
        on_open_error_callback=lambda c, e: (fail(c, "connect: %r" % e), c.ioloop.stop()),
        on_close_callback=lambda c, reason: c.ioloop.stop())
    conn.ioloop.start()
    conn.ioloop.close()
    if state["error"] is None and (state["sent"] < count or unconfirmed):
        state["error"] = "connection closed early: %d sent, %d unconfirmed" % (
            state["sent"], len(unconfirmed))
    if state["error"]:
        raise AssertionError(state["error"])


class PagingTest(unittest.TestCase):
    LIMIT = 64 * MiB
    MARGIN = 32 * MiB
    TOTAL = 256 * MiB
    BODY = 4096

    def test_a_queue_four_times_the_memory_limit_stays_on_disk_and_drains_in_order(self):
        config = '[alarms]\nmemory_limit = "%dMiB"\npaging_ratio = 0.5\n' % (self.LIMIT // MiB)
        count = self.TOTAL // self.BODY
        filler = b"." * (self.BODY - 8)
        with harness.Broker(extra_config=config) as broker:
            # Fails rather than waits if the alarm blocks it: paging did not keep up.
            publish_confirmed(broker, "big", count, lambda i: b"%08d" % i + filler)
            c = connect(broker)
            ch = c.channel()
            depth = ch.queue_declare("big", durable=True, passive=True).method.message_count
            self.assertEqual(depth, count)
            peak = peak_rss(broker.proc.pid)
            print("%d MiB queued with confirms, limit %d MiB, peak RSS %.1f MiB"
                  % (self.TOTAL // MiB, self.LIMIT // MiB, peak / MiB))
            self.assertLess(peak, self.LIMIT + self.MARGIN)
            self.assertNotIn("memory alarm set", broker.logs())

            ch.basic_qos(prefetch_count=500)
            expected = 0
            for method, _, body in ch.consume("big", inactivity_timeout=10):
                self.assertIsNotNone(method, "the queue stopped short at %d" % expected)
                self.assertEqual(int(body[:8]), expected)
                self.assertEqual(len(body), self.BODY)
                expected += 1
                if expected % 250 == 0 or expected == count:
                    ch.basic_ack(method.delivery_tag, multiple=True)
                if expected == count:
                    break
            ch.cancel()
            self.assertEqual(ch.queue_declare("big", durable=True, passive=True)
                             .method.message_count, 0)
            self.assertLess(peak_rss(broker.proc.pid), self.LIMIT + self.MARGIN,
                            "over the limit while draining")
            c.close()


class MemoryAlarmTest(unittest.TestCase):
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
            # Opened now: once blocked, the node reads nothing more from pub.
            confirmed = pub.channel()
            confirmed.confirm_delivery()
            body = b"x" * self.BODY
            published = [0]
            outcome = []

            # One thread owns pub until the alarm has cleared: it floods until
            # connection.blocked arrives, then sends a confirmed marker. Either
            # publish may wait inside pika for a node that has stopped reading
            # (a busy machine fills the socket buffers before the block is
            # seen); both go through once the alarm clears.
            def publisher():
                try:
                    while not events:
                        if published[0] >= 20000:
                            raise AssertionError("no connection.blocked after %d MiB"
                                                 % (published[0] * self.BODY // MiB))
                        pch.basic_publish("", "flood", b"%08d" % published[0] + body,
                                          TRANSIENT)
                        published[0] += 1
                        pub.process_data_events(time_limit=0)
                    confirmed.basic_publish("", "flood", b"marker", TRANSIENT)
                    outcome.append("confirmed")
                except Exception as e:  # reported by the main thread
                    outcome.append(e)

            sender = threading.Thread(target=publisher, daemon=True)
            sender.start()
            # pika hands connection.blocked to its callback only between
            # calls, so a publish that is waiting hides it until the alarm
            # clears; the node's log says when the alarm is on, and `events`
            # is checked whole at the end.
            wait_for_log(broker, "memory alarm set", timeout=30.0)

            con = connect(broker)
            cch = con.channel()
            cch.basic_qos(prefetch_count=10)
            deliveries = cch.consume("flood", inactivity_timeout=30)
            # Ten deliveries, unacked, free nothing: the alarm is certainly
            # still on while the consumer is served.
            first = [next(deliveries) for _ in range(10)]
            self.assertTrue(all(m is not None for m, _, _ in first), "consumer starved")
            self.assertEqual([int(b[:8]) for _, _, b in first], list(range(10)))
            self.assertNotIn("memory alarm cleared", broker.logs())
            depth = cch.queue_declare("flood", passive=True).method.message_count + 10
            self.assertEqual(outcome, [], "a publish sent after connection.blocked was confirmed "
                             "while the alarm was on (%d queued of %d sent before it)"
                             % (depth, published[0]))
            self.assertLessEqual(depth, published[0], "the marker was queued while blocked")

            cch.basic_ack(first[-1][0].delivery_tag, multiple=True)
            got_marker = False
            for method, _, b in deliveries:
                self.assertIsNotNone(method, "the consumer stalled")
                cch.basic_ack(method.delivery_tag)
                if b == b"marker":
                    got_marker = True
                    break
            self.assertTrue(got_marker)
            sender.join(30)
            self.assertFalse(sender.is_alive(), "the marker was delivered but never confirmed")
            self.assertEqual(outcome, ["confirmed"])
            wait_until(lambda: "unblocked" in events, pub, "connection.unblocked")
            self.assertEqual(events, ["low on memory", "unblocked"])
            wait_for_log(broker, "memory alarm cleared")
            confirmed.basic_publish("", "flood", b"after", TRANSIENT)  # publishing works again
            cch.cancel()
            con.close()
            pub.close()


if __name__ == "__main__":
    harness.main()
