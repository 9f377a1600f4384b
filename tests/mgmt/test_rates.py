"""warren-mgmt's rates (services/mgmt/rates.h) against a node: with
collect_statistics_interval = 1000 (ms) in its config file, messages are
published in known numbers between samples, and every rate, avg_rate and avg
the API gives is checked against the samples and timestamps the API itself
returns (never against the wall clock). Also: which keys get X_details, the
vhosts' and exchanges' message_stats, 400 for bad ranges, disable_stats, and
that an object gone and made again starts with no samples."""
import os
import tempfile
import unittest

import mgmt
from mgmt import q

import pika

INTERVAL_MS = 1000
RANGE = "msg_rates_age=60&msg_rates_incr=1"
LENGTHS = "lengths_age=60&lengths_incr=1"
MSG_KEYS = ("publish", "confirm", "deliver", "deliver_no_ack", "get", "get_no_ack",
            "deliver_get", "redeliver", "ack", "return_unroutable", "drop_unroutable",
            "get_empty")


class Rates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.config.write("collect_statistics_interval = %d\n" % INTERVAL_MS)
        cls.config.close()
        cls.broker = mgmt.harness.Broker(definitions=mgmt.DEFINITIONS)
        cls.broker.__enter__()
        try:
            cls.api = mgmt.Mgmt(["127.0.0.1:%d" % cls.broker.grpc_port],
                                extra_args=["--config", cls.config.name]).__enter__()
        except BaseException:
            cls.broker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()
        cls.broker.stop()
        os.unlink(cls.config.name)

    # Helpers ---------------------------------------------------------------------------
    def connect(self):
        conn = pika.BlockingConnection(pika.ConnectionParameters(
            self.broker.host, self.broker.port, "/", pika.PlainCredentials("guest", "guest"),
            heartbeat=0))
        self.addCleanup(lambda: conn.is_open and conn.close())
        ch = conn.channel()
        ch.confirm_delivery()  # each publish counted by the node before it returns
        return conn, ch

    def publish(self, ch, key, n, exchange=""):
        for i in range(n):
            ch.basic_publish(exchange, key, b"m%d" % i)

    def batch(self, conn, key, n):
        """`n` messages to `key` in one transaction: the node routes a
        commit's messages in one go, so no sample sees part of a batch."""
        ch = conn.channel()
        ch.tx_select()
        self.publish(ch, key, n)
        ch.tx_commit()
        ch.close()

    def details(self, path, *keys):
        """The X_details at `keys` (e.g. "message_stats", "publish") of the
        object at `path`, and the object's count there."""
        obj = self.api.ok("GET", path)
        for k in keys[:-1]:
            obj = obj[k]
        return obj[keys[-1] + "_details"], obj[keys[-1]]

    def wait_newest(self, path, keys, value):
        """Polls until the newest sample of `keys` at `path` is `value`;
        returns those details."""
        def newest():
            d, _ = self.details(path, *keys)
            return d if d["samples"] and d["samples"][0]["sample"] == value else None
        return mgmt.wait_for(newest, "a sample of %s at %s showing %r" % (keys, path, value),
                             timeout=30)

    def check_arithmetic(self, d, incr_ms=1000):
        """rate, avg_rate and avg as the samples given say, one sample per
        increment, newest first."""
        s = d["samples"]
        times = [x["timestamp"] for x in s]
        self.assertEqual(times, sorted(times, reverse=True))
        for newer, older in zip(times, times[1:]):
            self.assertEqual(newer - older, incr_ms)
        self.assertTrue(all(t % incr_ms == 0 for t in times), times)
        if len(s) >= 2:
            expected = (s[0]["sample"] - s[1]["sample"]) * 1000.0 / (times[0] - times[1])
            self.assertAlmostEqual(d["rate"], expected)
            self.assertAlmostEqual(
                d["avg_rate"], (s[0]["sample"] - s[-1]["sample"]) * 1000.0 / (times[0] - times[-1]))
            self.assertAlmostEqual(d["avg"], sum(x["sample"] for x in s) / len(s))
        else:
            self.assertEqual(d["rate"], 0.0)

    def assertBadRange(self, path, reason):
        status, body, _ = self.api.request("GET", path)
        self.assertEqual(status, 400, (path, body))
        self.assertEqual(body, {"error": "bad_request", "reason": reason})

    # Tests -----------------------------------------------------------------------------
    def test_queue_publish_rates_agree_with_the_samples(self):
        self.api.ok("PUT", "/api/queues/%2F/rated", {})
        path = "/api/queues/%2F/rated?" + RANGE + "&" + LENGTHS
        self.wait_newest(path, ("message_stats", "publish"), 0)  # sampled from here on
        conn, _ = self.connect()
        self.batch(conn, "rated", 5)
        self.wait_newest(path, ("message_stats", "publish"), 5)
        self.batch(conn, "rated", 7)
        d = self.wait_newest(path, ("message_stats", "publish"), 12)
        self.check_arithmetic(d)
        values = [x["sample"] for x in d["samples"]]
        # The counter took the values 0, 5 and 12, in that order, and nothing else.
        self.assertEqual(values, sorted(values, reverse=True))
        self.assertEqual(set(values), {0, 5, 12})
        # Each step between samples is what was published in that window.
        steps = [a - b for a, b in zip(values, values[1:]) if a != b]
        self.assertEqual(sorted(steps), [5, 7])
        # The lengths' samples: 12 messages ready, reached the same way.
        lengths = self.wait_newest(path, ("messages",), 12)
        self.check_arithmetic(lengths)
        self.assertEqual({x["sample"] for x in lengths["samples"]}, {0, 5, 12})
        ready, count = self.details(path, "messages_ready")
        self.assertEqual(count, 12)
        self.check_arithmetic(ready)
        # Once nothing moves, two equal samples: rate 0.0, and so the rate
        # without a range too.
        idle = mgmt.wait_for(
            lambda: (lambda d: d if len(d["samples"]) >= 2 and
                     d["samples"][0]["sample"] == d["samples"][1]["sample"] == 12 else None)(
                self.details(path, "message_stats", "publish")[0]), "two samples of 12")
        self.assertEqual(idle["rate"], 0.0)
        mgmt.wait_for(lambda: self.details("/api/queues/%2F/rated", "message_stats",
                                           "publish")[0] == {"rate": 0.0}, "rate 0.0 unranged")

    def test_the_rate_without_a_range_follows_publishing(self):
        self.api.ok("PUT", "/api/queues/%2F/unranged", {})
        path = "/api/queues/%2F/unranged"
        mgmt.wait_for(lambda: self.details(path + "?" + RANGE, "message_stats",
                                           "publish")[0]["samples"], "sampled")
        _, ch = self.connect()
        self.publish(ch, "unranged", 20)
        # Positive for the interval whose samples saw the 20, then 0.0 again.
        mgmt.wait_for(lambda: self.details(path, "message_stats", "publish")[0]["rate"] > 0,
                      "a positive rate")
        mgmt.wait_for(lambda: self.details(path, "message_stats", "publish")[0]["rate"] == 0.0,
                      "the rate back to 0.0")

    def test_channel_and_vhost_and_overview_message_stats(self):
        conn, ch = self.connect()
        ch.queue_declare("chan-rated")
        # The channel of this connection: the one whose publish count moves.
        before = {c["name"]: c["message_stats"]["publish"]
                  for c in self.api.ok("GET", "/api/channels")}
        self.publish(ch, "chan-rated", 4)
        name = mgmt.wait_for(
            lambda: [c["name"] for c in self.api.ok("GET", "/api/channels")
                     if c["message_stats"]["publish"] == before.get(c["name"], 0) + 4],
            "the channel's publishes counted")[0]
        path = "/api/channels/" + q(name) + "?" + RANGE
        d = self.wait_newest(path, ("message_stats", "publish"), 4)
        self.check_arithmetic(d)
        chan = self.api.ok("GET", path)
        for key in MSG_KEYS:
            self.assertIn(key + "_details", chan["message_stats"], key)
        # The vhost: message_stats summed over what the node lists of it.
        vhost = self.api.ok("GET", "/api/vhosts/%2F?" + RANGE + "&" + LENGTHS)
        for key in MSG_KEYS:
            self.assertIn(key, vhost["message_stats"], key)
            self.assertIn(key + "_details", vhost["message_stats"], key)
        for key in ("messages", "messages_ready", "messages_unacknowledged", "recv_oct",
                    "send_oct"):
            self.assertIn(key + "_details", vhost, key)
        self.assertGreaterEqual(vhost["messages"], 4)
        self.assertGreaterEqual(vhost["message_stats"]["deliver_get"], 0)
        self.check_arithmetic(vhost["messages_details"])
        # The overview: totals and churn with details, object totals without.
        o = self.api.ok("GET", "/api/overview?" + RANGE + "&" + LENGTHS)
        self.assertEqual(o["rates_mode"], "basic")
        for key in ("messages", "messages_ready", "messages_unacknowledged"):
            self.check_arithmetic(o["queue_totals"][key + "_details"])
        for key in ("connection_created", "connection_closed", "channel_created",
                    "channel_closed", "queue_declared", "queue_created", "queue_deleted"):
            self.assertIn(key, o["churn_rates"])
            self.check_arithmetic(o["churn_rates"][key + "_details"])
        self.check_arithmetic(o["message_stats"]["publish_details"])
        self.assertFalse([k for k in o["object_totals"] if k.endswith("_details")])

    def test_exchange_connection_and_node_details(self):
        conn, ch = self.connect()
        ch.queue_declare("via-direct")
        ch.queue_bind("via-direct", "amq.direct", "k")
        self.publish(ch, "k", 3, exchange="amq.direct")
        x = self.api.ok("GET", "/api/exchanges/%2F/amq.direct?" + RANGE)
        for key in ("publish_in", "publish_out"):
            self.assertIn(key, x["message_stats"])
            # Whatever the node counts (0 before it counts them), the details
            # agree with their samples.
            self.check_arithmetic(x["message_stats"][key + "_details"])
        conns = mgmt.wait_for(lambda: self.api.ok("GET", "/api/connections"), "a connection")
        newest = max(conns, key=lambda c: c["connected_at"])  # this test's
        c = self.api.ok("GET", "/api/connections/" + q(newest["name"]) +
                        "?data_rates_age=30&data_rates_incr=2")
        for key in ("recv_oct", "send_oct"):
            self.check_arithmetic(c[key + "_details"], incr_ms=2000)
        node = self.api.ok("GET", "/api/nodes")[0]
        self.assertIn("rate", node["mem_used_details"])
        # What Warren has no such figure for: 0, and a rate of 0.0.
        for key in ("io_read_count", "gc_num", "context_switches"):
            self.assertEqual(node[key], 0)
            self.assertEqual(node[key + "_details"]["rate"], 0.0)

    def test_an_object_made_again_starts_without_samples(self):
        self.api.ok("PUT", "/api/queues/%2F/again", {})
        path = "/api/queues/%2F/again?" + RANGE
        _, ch = self.connect()
        self.publish(ch, "again", 6)
        self.wait_newest(path, ("message_stats", "publish"), 6)
        deleted = self.api.ok("GET", "/api/overview")["churn_rates"]["queue_deleted"]
        self.api.ok("DELETE", "/api/queues/%2F/again")
        # A round that sampled the overview after the deletion listed the
        # queues after it too (the overview comes first in a round).
        self.wait_newest("/api/overview?lengths_age=60&lengths_incr=1",
                         ("churn_rates", "queue_deleted"), deleted + 1)
        self.api.ok("PUT", "/api/queues/%2F/again", {})
        d = self.wait_newest(path, ("message_stats", "publish"), 0)
        self.assertEqual({x["sample"] for x in d["samples"]}, {0})

    def test_bad_ranges_are_400(self):
        self.api.ok("PUT", "/api/queues/%2F/ranged", {})
        for path in ("/api/queues/%2F/ranged", "/api/queues", "/api/overview",
                     "/api/exchanges", "/api/channels", "/api/connections", "/api/vhosts",
                     "/api/vhosts/%2F", "/api/nodes"):
            self.assertBadRange(path + "?msg_rates_age=-1&msg_rates_incr=5",
                                "Invalid range parameters: age -1, incr 5")
        self.assertBadRange("/api/queues?lengths_age=60&lengths_incr=0",
                            "Invalid range parameters: age 60, incr 0")
        self.assertBadRange("/api/queues?lengths_age=sixty&lengths_incr=5",
                            "Invalid range parameters: age sixty, incr 5")
        self.assertBadRange("/api/overview?data_rates_age=501&data_rates_incr=1",
                            "Invalid range parameters: age 501, incr 1")
        self.assertBadRange("/api/nodes?node_stats_age=60&node_stats_incr=1.5",
                            "Invalid range parameters: age 60, incr 1.5")
        # 500 samples is the most; an age alone asks no range, as in RabbitMQ.
        d = self.api.ok("GET", "/api/queues/%2F/ranged?msg_rates_age=500&msg_rates_incr=1")
        self.assertIn("samples", d["message_stats"]["publish_details"])
        d = self.api.ok("GET", "/api/queues/%2F/ranged?msg_rates_age=60")
        self.assertNotIn("samples", d["message_stats"]["publish_details"])
        # disable_stats: no range read, no details.
        d = self.api.ok("GET", "/api/queues/%2F/ranged?disable_stats=true&msg_rates_age=-1")
        self.assertNotIn("message_stats", d)
        self.assertNotIn("messages_details", d)

    def test_a_bad_interval_stops_the_start(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
            f.write("collect_statistics_interval = 10\n")
            f.flush()
            with self.assertRaises(RuntimeError) as failed:
                with mgmt.Mgmt(["127.0.0.1:%d" % self.broker.grpc_port],
                               extra_args=["--config", f.name]):
                    pass
        self.assertIn("collect_statistics_interval", str(failed.exception))


if __name__ == "__main__":
    unittest.main()
