"""warren-exporter against real nodes (issue: exporter, "Done when" 1 and 2):
promtool accepts what it serves; a real Prometheus scraping it every second
reads a queue's depth back as rabbitmq_queue_messages_ready{queue=...}, and
sees warren_node_up go to 0 when the node stops; a node that does not answer
does not stop the others being served; conf/exporter.toml works and the
Grafana dashboard in conf/grafana queries only metrics the exporter serves."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))

import pika  # noqa: E402  (Debian's python3-pika)

import harness  # noqa: E402
from harness import free_port, wait_for  # noqa: E402

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
# Loopback only, whatever proxy the environment names.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url):
    with HTTP.open(url, timeout=10) as r:
        return r.read().decode()


def prometheus(test, job, more_jobs=""):
    """Debian's Prometheus scraping every second as `job` (the YAML of one
    scrape job after its job_name) says, and `more_jobs` (YAML list items),
    stopped when `test` ends; returns query(expr): the first sample's value,
    None when there is none or Prometheus does not answer yet;
    query.series(expr) is every series of the result, [] while none."""
    work = tempfile.mkdtemp(prefix="warren-prometheus-")
    test.addCleanup(shutil.rmtree, work, ignore_errors=True)
    port = free_port()
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: warren\n")
        f.write("".join("    " + line + "\n" for line in job.splitlines()))
        f.write("".join("  " + line + "\n" for line in more_jobs.splitlines()))
    prom = subprocess.Popen(
        [PROMETHEUS, "--config.file=" + os.path.join(work, "prometheus.yml"),
         "--storage.tsdb.path=" + os.path.join(work, "data"),
         "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    test.addCleanup(lambda: (prom.terminate(), prom.wait(timeout=30)))

    def series(expr):
        try:
            body = get("http://127.0.0.1:%d/api/v1/query?query=%s"
                       % (port, urllib.parse.quote(expr)))
        except OSError:
            return []  # not listening yet
        return json.loads(body)["data"]["result"]

    def query(expr):
        result = series(expr)
        return float(result[0]["value"][1]) if result else None
    query.series = series
    return query


def samples(text, name):
    """{frozenset(labels): value} for metric `name` in exposition text."""
    out = {}
    pattern = re.compile(r"^%s(?:\{(.*)\})? (\S+)$" % re.escape(name))
    for line in text.splitlines():
        m = pattern.match(line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
            out[labels] = float(m.group(2))
    return out


class Exporter:
    """warren-exporter on 127.0.0.1 and a port it picks, for `nodes`."""

    def __init__(self, nodes, config=""):
        self.dir = tempfile.mkdtemp(prefix="warren-exporter-")
        path = os.path.join(self.dir, "exporter.toml")
        with open(path, "w") as f:
            f.write(config)
        self.log = []
        self.proc = subprocess.Popen(
            [os.environ["WARREN_EXPORTER_BIN"], "--config", path, "--http-listen",
             "127.0.0.1:0", "--nodes", ",".join(nodes)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        listening = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.log.append(line)
                m = re.search(r"http listening on [0-9.]+:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    listening.set()
            listening.set()

        self.port = None
        threading.Thread(target=drain, daemon=True).start()
        if not listening.wait(20) or not self.port:
            self.stop()
            raise RuntimeError("warren-exporter did not start:\n" + "".join(self.log))

    def metrics(self, path="/metrics"):
        return get("http://127.0.0.1:%d%s" % (self.port, path))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


class ExporterTest(unittest.TestCase):
    def setUp(self):
        self.broker = harness.Broker().__enter__()
        self.addCleanup(self.broker.__exit__, None, None, None)
        self.node = "127.0.0.1:%d" % self.broker.grpc_port

    def exporter(self, nodes=None, config=""):
        e = Exporter(nodes or [self.node], config)
        self.addCleanup(e.stop)
        return e

    def fill(self, queue, count):
        c = pika.BlockingConnection(pika.ConnectionParameters(self.broker.host, self.broker.port))
        ch = c.channel()
        ch.queue_declare(queue)
        for i in range(count):
            ch.basic_publish("", queue, b"m%d" % i)
        ch.queue_declare(queue, passive=True)  # after the publishes are handled
        c.close()

    def test_promtool_finds_no_problem_and_the_values_are_the_nodes(self):
        self.fill("one", 3)
        self.fill("two", 5)
        e = self.exporter()
        for path in ("/metrics", "/metrics/per-object",
                     "/metrics/detailed?family=queue_coarse_metrics&family=queue_metrics"
                     "&family=channel_metrics&family=connection_churn_metrics"
                     "&family=connection_metrics&family=vhost_status&family=exchange_bindings"
                     "&family=exchange_names"):
            text = e.metrics(path)
            check = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual((check.returncode, check.stdout + check.stderr), (0, ""),
                             "promtool on " + path)
        text = e.metrics("/metrics/per-object")
        ready = {dict(k)["queue"]: v for k, v in
                 samples(text, "rabbitmq_queue_messages_ready").items()}
        self.assertEqual(ready, {"one": 3, "two": 5})
        [(labels, queues)] = samples(text, "rabbitmq_queues").items()
        self.assertEqual(queues, 2)
        self.assertTrue(dict(labels)["node"].startswith("warren@"))
        received = samples(text, "rabbitmq_global_messages_received_total")
        self.assertEqual(list(received.values()), [8])
        self.assertIn(("protocol", "amqp091"), next(iter(received)))
        self.assertEqual(list(samples(text, "warren_node_up").values()), [1])
        # A node alone is a cluster of one, named after itself.
        [(identity, _)] = samples(text, "rabbitmq_identity_info").items()
        node = dict(identity)["rabbitmq_node"]
        self.assertEqual(dict(identity)["rabbitmq_cluster"], node)
        self.assertEqual(list(samples(text, "warren_cluster_members").values()), [1])
        self.assertEqual(list(samples(text, "warren_cluster_running_members").values()), [1])

    def test_metrics_sums_per_node_unless_per_object_metrics_is_set(self):
        self.fill("a", 2)
        self.fill("b", 4)
        e = self.exporter()
        [(labels, total)] = samples(e.metrics(), "rabbitmq_queue_messages_ready").items()
        self.assertEqual(total, 6)
        self.assertNotIn("queue", dict(labels))
        per_queue = samples(e.metrics("/metrics/per-object"), "rabbitmq_queue_messages_ready")
        self.assertEqual(sorted(per_queue.values()), [2, 4])
        e = self.exporter(config="per_object_metrics = true\n")
        per_queue = samples(e.metrics(), "rabbitmq_queue_messages_ready")
        self.assertEqual(sorted(per_queue.values()), [2, 4])

    def test_detailed_serves_the_groups_and_vhosts_asked_for(self):
        self.fill("d", 3)
        e = self.exporter()
        text = e.metrics("/metrics/detailed?family=queue_coarse_metrics&vhost=%2F")
        self.assertEqual(list(samples(text, "rabbitmq_detailed_queue_messages").values()), [3])
        names = set(re.findall(r"^# TYPE (\w+) ", text, re.M))
        self.assertEqual(names, {"rabbitmq_detailed_queue_messages_ready",
                                 "rabbitmq_detailed_queue_messages_unacked",
                                 "rabbitmq_detailed_queue_messages",
                                 "rabbitmq_identity_info", "rabbitmq_build_info"})
        other = e.metrics("/metrics/detailed?family=queue_coarse_metrics&vhost=other")
        self.assertEqual(samples(other, "rabbitmq_detailed_queue_messages"), {})
        nothing = e.metrics("/metrics/detailed")
        self.assertEqual(set(re.findall(r"^# TYPE (\w+) ", nothing, re.M)),
                         {"rabbitmq_identity_info", "rabbitmq_build_info"})
        # queue_consumer_count is the part of queue_metrics: not both.
        both = e.metrics("/metrics/detailed?family=queue_consumer_count&family=queue_metrics")
        self.assertEqual(len(samples(both, "rabbitmq_detailed_queue_consumers")), 1)

    def known_workload(self):
        """Left open, so its figures hold while scraped: a connection whose
        channel holds one message of "detail" unacknowledged (10 bytes of
        the 35 published there: two persistent, 10 and 20 bytes, the 20 one
        timestamped, and a transient one of 5) and consumes "served"
        (automatic acknowledgement: never held back); "detail" is bound to
        fanout "fx"."""
        c = pika.BlockingConnection(pika.ConnectionParameters(self.broker.host, self.broker.port))
        self.addCleanup(c.close)
        ch = c.channel()
        ch.queue_declare("detail", durable=True)
        ch.queue_declare("served")
        ch.exchange_declare("fx", "fanout")
        ch.queue_bind("detail", "fx")
        persistent = pika.BasicProperties(delivery_mode=2)
        ch.basic_publish("fx", "", b"a" * 10, persistent)
        ch.basic_publish("fx", "", b"b" * 20,
                         pika.BasicProperties(delivery_mode=2, timestamp=1700000000))
        ch.basic_publish("fx", "", b"c" * 5)
        method, _, _ = ch.basic_get("detail", auto_ack=False)
        self.assertIsNotNone(method)
        ch.basic_qos(prefetch_count=10)
        ch.basic_consume("served", lambda *a: None, auto_ack=True)
        ch.basic_publish("", "served", b"s")
        ch.queue_declare("served", passive=True)  # after the publishes are handled
        c.process_data_events(time_limit=0)
        return c

    def test_queue_details_and_connection_packets_of_a_known_workload(self):
        self.known_workload()
        e = self.exporter()
        text = e.metrics("/metrics/per-object")

        def of(name, queue="detail"):
            return {dict(k)["queue"]: v for k, v in samples(text, name).items()}[queue]
        self.assertEqual(of("rabbitmq_queue_messages_bytes"), 35)
        self.assertEqual(of("rabbitmq_queue_messages_ready_bytes"), 25)
        self.assertEqual(of("rabbitmq_queue_messages_unacked_bytes"), 10)
        self.assertEqual(of("rabbitmq_queue_messages_persistent"), 2)
        self.assertEqual(of("rabbitmq_queue_messages_persistent_bytes"), 30)
        self.assertEqual(of("rabbitmq_queue_messages_ram"), 3)
        self.assertEqual(of("rabbitmq_queue_messages_ram_bytes"), 35)
        self.assertEqual(of("rabbitmq_queue_messages_ready_ram"), 2)
        self.assertEqual(of("rabbitmq_queue_messages_unacked_ram"), 1)
        self.assertEqual(of("rabbitmq_queue_messages_paged_out"), 0)
        self.assertEqual(of("rabbitmq_queue_head_message_timestamp"), 1700000000)
        self.assertGreater(of("rabbitmq_queue_process_memory_bytes"), 35)
        # No consumer on "detail"; one never held back on "served".
        self.assertEqual(of("rabbitmq_queue_consumer_capacity"), 0)
        self.assertAlmostEqual(of("rabbitmq_queue_consumer_capacity", "served"), 1.0)
        self.assertAlmostEqual(of("rabbitmq_queue_consumer_utilisation", "served"), 1.0)
        self.assertNotIn("served", {dict(k)["queue"] for k in
                                    samples(text, "rabbitmq_queue_head_message_timestamp")})
        [(_, received)] = samples(text, "rabbitmq_connection_incoming_packets_total").items()
        [(_, sent)] = samples(text, "rabbitmq_connection_outgoing_packets_total").items()
        [(labels, _)] = samples(text, "rabbitmq_connection_pending_packets").items()
        self.assertIn("connection", dict(labels))
        self.assertGreaterEqual(received, 1)
        self.assertGreaterEqual(sent, 1)
        [(_, octets)] = samples(text, "rabbitmq_connection_incoming_bytes_total").items()
        self.assertLessEqual(received, octets)

        # Aggregated: the Overview's sums, one series per node, no object
        # listed (nothing is labelled by channel or connection).
        aggregated = e.metrics()
        self.assertNotIn('channel="', aggregated)
        self.assertNotIn('connection="', aggregated)
        for name, expected in (("rabbitmq_channel_messages_unacked", 1),
                               ("rabbitmq_channel_consumers", 1),
                               ("rabbitmq_channel_prefetch", 0),
                               ("rabbitmq_connection_channels", 1),
                               ("rabbitmq_connection_pending_packets", 0)):
            with self.subTest(family=name):
                [(labels, value)] = samples(aggregated, name).items()
                self.assertEqual(value, expected)
                self.assertEqual({k for k, _ in labels}, {"node"})
        [(_, total)] = samples(aggregated, "rabbitmq_connection_incoming_packets_total").items()
        self.assertGreaterEqual(total, received)
        [(_, total)] = samples(aggregated, "rabbitmq_connection_incoming_bytes_total").items()
        self.assertGreaterEqual(total, octets)

        detailed = e.metrics("/metrics/detailed?family=queue_metrics&family=connection_metrics"
                             "&family=vhost_status&family=exchange_bindings"
                             "&family=exchange_names")
        [(_, value)] = [(k, v) for k, v in
                        samples(detailed, "rabbitmq_detailed_queue_messages_bytes").items()
                        if ("queue", "detail") in k]
        self.assertEqual(value, 35)
        self.assertEqual(len(samples(detailed,
                                     "rabbitmq_detailed_connection_outgoing_packets_total")), 1)
        status = {dict(k)["vhost"]: v for k, v in
                  samples(detailed, "rabbitmq_cluster_vhost_status").items()}
        self.assertIn("/", status)
        self.assertEqual(set(status.values()), {1})  # every vhost of a node that answers runs
        bindings = {dict(k)["exchange"]: (dict(k)["type"], v) for k, v in
                    samples(detailed, "rabbitmq_cluster_exchange_bindings").items()}
        self.assertEqual(bindings["fx"], ("fanout", 1))
        self.assertEqual(bindings["amq.direct"], ("direct", 0))
        self.assertNotIn("", bindings)  # the default exchange is not enumerated
        names = {dict(k)["exchange"] for k in samples(detailed, "rabbitmq_cluster_exchange_name")}
        self.assertEqual(names, set(bindings))
        # Only on /metrics/detailed, and only when asked for.
        for text in (aggregated, e.metrics("/metrics/detailed?family=queue_metrics")):
            self.assertEqual(re.findall(r"^rabbitmq_cluster_\w+", text, re.M), [])

    def test_info_and_alarm_families_are_untyped_and_build_info_names_warren(self):
        text = self.exporter().metrics()
        for family in ("rabbitmq_identity_info", "rabbitmq_build_info",
                       "rabbitmq_alarms_memory_used_watermark",
                       "rabbitmq_alarms_free_disk_space_watermark",
                       "rabbitmq_alarms_file_descriptor_limit"):
            with self.subTest(family=family):
                self.assertIn("# TYPE %s untyped\n" % family, text)
        [(labels, _)] = samples(text, "rabbitmq_build_info").items()
        self.assertEqual(dict(labels)["product_name"], "Warren")
        self.assertEqual(dict(labels)["rabbitmq_version"], "3.13.7")

    def test_a_silent_node_is_down_and_the_others_still_served(self):
        dead = "127.0.0.1:%d" % free_port()
        e = self.exporter(nodes=[self.node, dead], config='timeout = "500ms"\n')
        up = {dict(k)["address"]: v for k, v in samples(e.metrics(), "warren_node_up").items()}
        self.assertEqual(up, {self.node: 1, dead: 0})
        self.assertEqual(len(samples(e.metrics(), "rabbitmq_connections")), 1)

    def test_prometheus_reads_the_depth_and_sees_the_node_go_down(self):
        self.fill("scraped", 42)
        e = self.exporter(config="per_object_metrics = true\n")
        query = prometheus(self, "static_configs:\n  - targets: ['127.0.0.1:%d']\n" % e.port)

        wait_for(lambda: query('rabbitmq_queue_messages_ready{queue="scraped"}') == 42,
                 "Prometheus reads 42 ready messages in queue 'scraped'", timeout=60)
        self.assertEqual(query('warren_node_up{address="%s"}' % self.node), 1)
        self.broker.stop_node()
        wait_for(lambda: query('warren_node_up{address="%s"}' % self.node) == 0,
                 "warren_node_up goes to 0 once the node is stopped", timeout=60)

    def test_the_example_config_works_and_the_dashboard_asks_only_for_served_metrics(self):
        with open(os.path.join(REPO, "conf", "exporter.toml")) as f:
            e = self.exporter(config=f.read())
        self.fill("q", 1)
        served = set(re.findall(r"^# TYPE (\w+) ", e.metrics("/metrics/per-object"), re.M))
        with open(os.path.join(REPO, "conf", "grafana", "warren-overview.json")) as f:
            dashboard = json.load(f)
        asked = set()
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                asked |= set(re.findall(r"\b((?:rabbitmq|warren)_\w+)", target["expr"]))
        self.assertTrue(asked)
        self.assertEqual(asked - served, set(), "the dashboard queries metrics nobody serves")

    def test_a_bad_config_is_refused_naming_the_key(self):
        path = os.path.join(tempfile.mkdtemp(prefix="warren-exporter-"), "bad.toml")
        self.addCleanup(shutil.rmtree, os.path.dirname(path), ignore_errors=True)
        with open(path, "w") as f:
            f.write('tiemout = "1s"\n')
        r = subprocess.run([os.environ["WARREN_EXPORTER_BIN"], "--config", path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("tiemout", r.stderr)


if __name__ == "__main__":
    harness.main()
