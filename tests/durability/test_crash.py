"""kill -9 at random moments while publishers with confirms and acking
consumers run: no confirmed message is ever lost, and a message delivered
again was flagged redelivered (issue: durability, "Done when" 2).

WARREN_CRASH_CYCLES sets the number of kills (default 20; `make soak` runs
hundreds); WARREN_TEST_SEED replays a run's schedule."""
import os
import random
import threading
import time
import unittest

from common import PERSISTENT, connect, drain, harness

QUEUES = ("crash.a", "crash.b")
PUBLISHERS = 2
ACK_EVERY = 25
CYCLES = int(os.environ.get("WARREN_CRASH_CYCLES", "20"))
SEED = int(os.environ.get("WARREN_TEST_SEED", str(random.SystemRandom().randrange(1 << 30))))


class Ledger:
    """What the clients saw, across every cycle."""

    def __init__(self):
        self.lock = threading.Lock()
        self.confirmed = set()
        self.acked = set()
        self.deliveries = {}  # id -> [redelivered flags, in delivery order]

    def delivered(self, msg_id, redelivered):
        with self.lock:
            self.deliveries.setdefault(msg_id, []).append(redelivered)


def publish(broker, ledger, name, counter, stop):
    try:
        c = connect(broker)
        ch = c.channel()
        ch.confirm_delivery()
        while not stop.is_set():
            msg_id = "%s-%d" % (name, counter[0])
            counter[0] += 1
            ch.basic_publish("", QUEUES[counter[0] % 2], msg_id.encode(), PERSISTENT)
            with ledger.lock:  # basic_publish returned: the broker confirmed it
                ledger.confirmed.add(msg_id)
    except Exception:  # the node was killed under us
        pass


def consume(broker, ledger, queue, stop):
    """Acks in batches (multiple=true every ACK_EVERY deliveries), so a kill
    usually finds deliveries outstanding."""
    pending = []
    try:
        c = connect(broker)
        ch = c.channel()
        ch.basic_qos(prefetch_count=100)
        for method, props, body in ch.consume(queue, inactivity_timeout=0.1):
            if stop.is_set():
                break
            if method is not None:
                pending.append(body.decode())
                ledger.delivered(pending[-1], method.redelivered)
            if pending and (method is None or len(pending) >= ACK_EVERY):
                ch.basic_ack(last_tag if method is None else method.delivery_tag, multiple=True)
                with ledger.lock:
                    ledger.acked.update(pending)
                pending = []
            if method is not None:
                last_tag = method.delivery_tag
    except Exception:
        pass


class CrashTest(unittest.TestCase):
    def test_no_confirmed_message_is_lost_across_kill_9(self):
        print("seed %d, %d cycles" % (SEED, CYCLES))
        rng = random.Random(SEED)
        ledger = Ledger()
        counters = [[0] for _ in range(PUBLISHERS)]
        with harness.Broker() as broker:
            c = connect(broker)
            for q in QUEUES:
                c.channel().queue_declare(q, durable=True)
            c.close()
            for cycle in range(CYCLES):
                stop = threading.Event()
                threads = [threading.Thread(target=publish,
                                            args=(broker, ledger, "p%d" % i, counters[i], stop))
                           for i in range(PUBLISHERS)]
                threads += [threading.Thread(target=consume, args=(broker, ledger, q, stop))
                            for q in QUEUES]
                for t in threads:
                    t.start()
                time.sleep(rng.uniform(0.3, 1.5))  # the crash schedule, not a synchronisation
                broker.kill()
                stop.set()
                for t in threads:
                    t.join(timeout=30)
                    self.assertFalse(t.is_alive(), "a client thread hung after the kill")
                broker.restart()
                self.check_nothing_lost_so_far(broker, ledger, cycle)

            c = connect(broker)
            ch = c.channel()
            for q in QUEUES:
                for body, _, redelivered in drain(ch, q, timeout=60):
                    ledger.delivered(body.decode(), redelivered)
                    ledger.acked.add(body.decode())
            c.close()

        lost = ledger.confirmed - ledger.acked
        self.assertEqual(lost, set(), "confirmed but never delivered after %d kills" % CYCLES)
        unflagged = {m: flags for m, flags in ledger.deliveries.items()
                     if len(flags) > 1 and not all(flags[1:])}
        self.assertEqual(unflagged, {}, "delivered again without redelivered=true")
        duplicates = sum(len(f) - 1 for f in ledger.deliveries.values())
        print("%d kills: %d confirmed, %d delivered, %d redeliveries"
              % (CYCLES, len(ledger.confirmed), len(ledger.deliveries), duplicates))
        self.assertGreater(len(ledger.confirmed), CYCLES, "too little traffic to mean anything")

    def check_nothing_lost_so_far(self, broker, ledger, cycle):
        """Right after a restart, the queues hold at least every confirmed,
        unacked message (more is fine: acks lost in the crash redeliver)."""
        c = connect(broker)
        ch = c.channel()
        ready = sum(ch.queue_declare(q, durable=True, passive=True).method.message_count
                    for q in QUEUES)
        c.close()
        outstanding = len(ledger.confirmed - ledger.acked)
        self.assertGreaterEqual(ready, outstanding,
                                "after kill %d: %d ready < %d confirmed and unacked"
                                % (cycle + 1, ready, outstanding))


if __name__ == "__main__":
    harness.main()
