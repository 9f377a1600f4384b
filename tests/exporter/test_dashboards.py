"""RabbitMQ's Grafana dashboards and alert rules against a Warren cluster
(services/exporter/README.md): three nodes, an exporter beside each, and
Debian's Prometheus scraping the three as targets of their own, as Compose and
the Helm chart set them up. After a workload of every kind the dashboards
count, each query of the RabbitMQ-Overview dashboard, in the shapes of its
3.10 and its current version, returns data and the values the workload made;
and the alert rules' expressions fire when their condition is made true:
unroutable messages, a queue nobody consumes, connection churn, memory and
disk alarms (nodes started past their memory limit and below their free-disk
limit) and, over recorded scrapes (QueueIsGrowingTest says what is real there
and what is not), a queue growing for ten minutes.

The queries are written here in the dashboards' shapes: every series joined
to rabbitmq_identity_info on instance (and job), selected by the cluster's
name, with Grafana's variables filled in as a dashboard without Kubernetes
fills them (namespace and endpoint empty).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
sys.path.insert(0, os.path.join(HERE, "..", "ctl"))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import pika  # noqa: E402  (Debian's python3-pika)

from ctl import harness, wait_for  # noqa: E402
from test_cluster import Cluster  # noqa: E402
from test_exporter import PROMETHEUS, PROMTOOL, Exporter, get, prometheus  # noqa: E402

# Sizes of the bodies published, one per bucket of rabbitmq_message_size_bytes
# the dashboard reads (at most 100, 1000, 10^4 bytes).
SIZES = (50, 500, 5000)


def join(cluster, labels="rabbitmq_cluster"):
    """The current dashboard's join to the node's identity (its endpoint
    variable offers the endpoint Prometheus scrapes: /metrics)."""
    return ('* on(instance, job) group_left(%s) rabbitmq_identity_info{rabbitmq_cluster="%s", '
            'namespace="", rabbitmq_endpoint="aggregated"}' % (labels, cluster))


def join_3_10(cluster, labels="rabbitmq_cluster"):
    """The 3.10 dashboard's join: on instance only, no endpoint."""
    return ('* on(instance) group_left(%s) rabbitmq_identity_info{rabbitmq_cluster="%s", '
            'namespace=""}' % (labels, cluster))


def overview_queries(cluster):
    """{panel: expression} of the RabbitMQ-Overview dashboard, current version."""
    j = join(cluster)
    n = join(cluster, "rabbitmq_cluster, rabbitmq_node")
    rate = lambda family: "rate(%s[1m]) %s" % (family, n)  # noqa: E731
    per_node = lambda family: "sum(%s) by(rabbitmq_node)" % rate(family)  # noqa: E731

    def size_share(low, high):
        bucket = ("sum(increase(rabbitmq_message_size_bytes_bucket{le=\"%s\"}[5m]) " + n + ")")
        total = bucket % "+Inf"
        if low is None:
            return "%s / %s" % (bucket % high, total)
        return "(%s - %s) / %s" % (bucket % high, bucket % low, total)

    bounds = ["100.0", "1000.0", "10000.0", "100000.0", "1e+06", "1e+07", "5e+07", "1e+08",
              "+Inf"]
    q = {
        "Ready messages": "sum(rabbitmq_queue_messages_ready %s)" % j,
        "Outgoing messages / s": "sum(irate(rabbitmq_global_messages_delivered_total[1m]) %s)" % j,
        "Publishers": "sum(rabbitmq_global_publishers %s)" % j,
        "Connections": "sum(rabbitmq_connections %s)" % j,
        "Queues": "sum(rabbitmq_queues %s)" % j,
        "Unacknowledged messages": "sum(rabbitmq_queue_messages_unacked %s)" % j,
        "Incoming messages / s": "sum(irate(rabbitmq_global_messages_received_total[1m]) %s)" % j,
        "Consumers": "sum(rabbitmq_global_consumers %s)" % j,
        "Channels": "sum(rabbitmq_channels %s)" % j,
        "Nodes": 'count(rabbitmq_identity_info{namespace="", rabbitmq_cluster="%s", '
                 'rabbitmq_endpoint="aggregated"})' % cluster,
        "Node table": "rabbitmq_erlang_uptime_seconds * on(instance, job) "
                      "group_left(rabbitmq_version, erlang_version) rabbitmq_build_info "
                      + join(cluster, "rabbitmq_cluster, rabbitmq_node"),
        "Memory available before publishers blocked":
            "(rabbitmq_resident_memory_limit_bytes %s) - "
            "(rabbitmq_process_resident_memory_bytes %s)" % (n, n),
        "Disk space available before publishers blocked":
            "(rabbitmq_disk_space_available_bytes - "
            "rabbitmq_disk_space_available_limit_bytes) " + n,
        "File descriptors available": "(rabbitmq_process_max_fds - rabbitmq_process_open_fds) " + n,
        "Messages ready to be delivered to consumers":
            "sum(rabbitmq_queue_messages_ready %s) by(rabbitmq_node)" % n,
        "Messages pending consumer acknowledgement":
            "sum(rabbitmq_queue_messages_unacked %s) by(rabbitmq_node)" % n,
        "Messages published / s": per_node("rabbitmq_global_messages_received_total"),
        "Avg Size": "sum(increase(rabbitmq_message_size_bytes_sum[5m]) %s) / "
                    "sum(increase(rabbitmq_message_size_bytes_count[5m]) %s)" % (n, n),
        "Messages routed to queues / s": per_node("rabbitmq_global_messages_routed_total"),
        "Messages confirmed to publishers / s":
            per_node("rabbitmq_global_messages_confirmed_total"),
        "Unroutable messages dropped / s":
            per_node("rabbitmq_global_messages_unroutable_dropped_total"),
        "Unroutable messages returned / s":
            per_node("rabbitmq_global_messages_unroutable_returned_total"),
        "Messages unconfirmed to publishers / s":
            "sum(%s - %s) by(rabbitmq_node)"
            % (rate("rabbitmq_global_messages_received_confirm_total"),
               rate("rabbitmq_global_messages_confirmed_total")),
        "Messages delivered / s":
            "sum((%s) + (%s)) by(rabbitmq_node)"
            % (rate("rabbitmq_global_messages_delivered_consume_auto_ack_total"),
               rate("rabbitmq_global_messages_delivered_consume_manual_ack_total")),
        "Messages redelivered / s": per_node("rabbitmq_global_messages_redelivered_total"),
        "Messages delivered with manual ack / s":
            per_node("rabbitmq_global_messages_delivered_consume_manual_ack_total"),
        "Messages delivered auto ack / s":
            per_node("rabbitmq_global_messages_delivered_consume_auto_ack_total"),
        "Messages acknowledged / s": per_node("rabbitmq_global_messages_acknowledged_total"),
        "Polling operations with auto ack / s":
            per_node("rabbitmq_global_messages_delivered_get_auto_ack_total"),
        "Polling operations that yield no result / s":
            per_node("rabbitmq_global_messages_get_empty_total"),
        "Polling operations with manual ack / s":
            per_node("rabbitmq_global_messages_delivered_get_manual_ack_total"),
        "Total queues": "rabbitmq_queues " + n,
        "Queues declared / s": per_node("rabbitmq_queues_declared_total"),
        "Queues created / s": per_node("rabbitmq_queues_created_total"),
        "Queues deleted / s": per_node("rabbitmq_queues_deleted_total"),
        "Total channels": "rabbitmq_channels " + n,
        "Channels opened / s": per_node("rabbitmq_channels_opened_total"),
        "Channels closed / s": per_node("rabbitmq_channels_closed_total"),
        "Total connections": "rabbitmq_connections " + n,
        "Connections opened / s": per_node("rabbitmq_connections_opened_total"),
        "Connections closed / s": per_node("rabbitmq_connections_closed_total"),
    }
    for i, high in enumerate(bounds):
        q["Message Size Distribution le=%s" % high] = size_share(bounds[i - 1] if i else None, high)
    return q


def overview_queries_3_10(cluster):
    """The panels whose query differs in the 3.10 dashboard: joined on
    instance alone, publishers as channels less consuming ones, sockets."""
    j = join_3_10(cluster)
    n = join_3_10(cluster, "rabbitmq_cluster, rabbitmq_node")
    return {
        "Ready messages": "sum(rabbitmq_queue_messages_ready %s)" % j,
        "Publishers": "sum(rabbitmq_channels %s) - sum(rabbitmq_channel_consumers %s)" % (j, j),
        "Consumers": "sum(rabbitmq_consumers %s)" % j,
        "Nodes": "sum(rabbitmq_build_info %s)" % j,
        "Node table": "rabbitmq_build_info " + n,
        "TCP sockets available":
            "(rabbitmq_process_max_tcp_sockets %s) - (rabbitmq_process_open_tcp_sockets %s)"
            % (n, n),
        "Outgoing messages / s":
            "sum(rate(rabbitmq_global_messages_redelivered_total[60s]) %s) + "
            "sum(rate(rabbitmq_global_messages_delivered_consume_auto_ack_total[60s]) %s) + "
            "sum(rate(rabbitmq_global_messages_delivered_consume_manual_ack_total[60s]) %s) + "
            "sum(rate(rabbitmq_global_messages_delivered_get_auto_ack_total[60s]) %s) + "
            "sum(rate(rabbitmq_global_messages_delivered_get_manual_ack_total[60s]) %s)"
            % (j, j, j, j, j),
        "Total queues": "rabbitmq_queues " + n,
    }


def alert_expressions():
    """{alert: expression} of RabbitMQ's cluster-operator rules, without
    their `for` (the test makes the condition true and evaluates it once).
    Written here from knowledge of the rules the operator ships (they cannot
    be downloaded here), in their shapes."""
    identity = "max by (instance, rabbitmq_cluster) (rabbitmq_identity_info)"

    def alarm(family):
        return ("max by(rabbitmq_cluster) (max_over_time(%s[5m]) * on(instance) "
                "group_left(rabbitmq_cluster) %s) > 0" % (family, identity))
    return {
        # `for: 10m`; "> 1" as the operator writes it, for rounding.
        "QueueIsGrowing":
            "(avg_over_time(rabbitmq_detailed_queue_messages[10m]) - "
            "avg_over_time(rabbitmq_detailed_queue_messages[10m] offset 1m) > 1) "
            "* on (instance) group_left(rabbitmq_cluster) " + identity,
        "MemoryAlarm": alarm("rabbitmq_alarms_memory_used_watermark"),
        "DiskAlarm": alarm("rabbitmq_alarms_free_disk_space_watermark"),
        "QueueHasNoConsumers":
            '(((rabbitmq_detailed_queue_consumers{vhost="/", queue=~".*"} == 0) + '
            'rabbitmq_detailed_queue_messages) > 0) * on (instance) group_left(rabbitmq_cluster) '
            + identity,
        "UnroutableMessages":
            "sum by(namespace, rabbitmq_cluster) (increase(rabbitmq_channel_messages_unroutable_"
            "dropped_total[5m]) * on (instance) group_left(rabbitmq_cluster) %s) >= 1 or "
            "sum by(namespace, rabbitmq_cluster) (increase(rabbitmq_channel_messages_unroutable_"
            "returned_total[5m]) * on (instance) group_left(rabbitmq_cluster) %s) >= 1"
            % (identity, identity),
        "HighConnectionChurn":
            "(sum by (namespace, rabbitmq_cluster) (rate(rabbitmq_connections_closed_total[5m]) "
            "* on (instance) group_left (rabbitmq_cluster) %s) + sum by (namespace, "
            "rabbitmq_cluster) (rate(rabbitmq_connections_opened_total[5m]) * on (instance) "
            "group_left (rabbitmq_cluster) %s)) / sum by (namespace, rabbitmq_cluster) "
            "(rabbitmq_connections * on (instance) group_left (rabbitmq_cluster) %s) > 0.1"
            % (identity, identity, identity),
        "FileDescriptorsNearLimit":
            "sum by(namespace, rabbitmq_cluster, pod, rabbitmq_node) "
            "(max_over_time(rabbitmq_process_open_fds[5m]) * on(instance) "
            "group_left(rabbitmq_cluster, rabbitmq_node) max by (instance, rabbitmq_node, "
            "rabbitmq_cluster) (rabbitmq_identity_info)) / sum by(namespace, rabbitmq_cluster, "
            "pod, rabbitmq_node) (rabbitmq_process_max_fds * on(instance) "
            "group_left(rabbitmq_cluster, rabbitmq_node) max by (instance, rabbitmq_node, "
            "rabbitmq_cluster) (rabbitmq_identity_info)) > 0.8",
    }


class Stack:
    """A three-node cluster, an exporter beside each node, and Prometheus
    scraping the three every second: /metrics as job "warren" and, with
    `detailed`, as RabbitMQ's Kubernetes operator configures it for the
    per-object alert rules, /metrics/detailed as job "detailed"."""

    def __init__(self, test, detailed=False, cluster=Cluster):
        self.test = test
        self.cluster = cluster(test)
        self.cluster.__enter__()
        test.addCleanup(self.cluster.__exit__, None, None, None)
        self.exporters = []
        for n in self.cluster.nodes:
            e = Exporter(["127.0.0.1:%d" % n.grpc_listen_port])
            test.addCleanup(e.stop)
            self.exporters.append(e)
        targets = ", ".join("'127.0.0.1:%d'" % e.port for e in self.exporters)
        jobs = ("- job_name: detailed\n  metrics_path: /metrics/detailed\n"
                    "  params:\n    family: [queue_coarse_metrics, queue_consumer_count]\n"
                    "    vhost: ['/']\n  static_configs:\n  - targets: [%s]\n" % targets)
        self.query = prometheus(test, "static_configs:\n  - targets: [%s]\n" % targets,
                                more_jobs=jobs if detailed else "")
        wait_for(lambda: self.query("count(up == 1)") == (6 if detailed else 3),
                 "Prometheus scrapes the three exporters", timeout=60)

    def connect(self, i):
        n = self.cluster.nodes[i]
        return pika.BlockingConnection(pika.ConnectionParameters(n.host, n.port))

    def series(self, expr):
        return self.query.series(expr)

    def value(self, expr):
        found = self.series(expr)
        self.test.assertEqual(len(found), 1, "one series for: " + expr)
        return float(found[0]["value"][1])

    def cluster_name(self):
        found = self.series('rabbitmq_identity_info{job="warren"}')
        names = {s["metric"]["rabbitmq_cluster"] for s in found}
        nodes = {s["metric"]["rabbitmq_node"] for s in found}
        self.test.assertEqual(nodes, {"warren@c1", "warren@c2", "warren@c3"})
        self.test.assertEqual(len(names), 1, found)
        return names.pop()


def consume(connection, queue, count, auto_ack):
    """`count` deliveries from `queue` on a new channel; returns the channel."""
    ch = connection.channel()
    ch.basic_qos(prefetch_count=count)
    got = []
    ch.basic_consume(queue, lambda c, m, p, b: got.append(m), auto_ack=auto_ack)
    while len(got) < count:
        connection.process_data_events(time_limit=1)
    return ch


class OverviewDashboardTest(unittest.TestCase):
    def workload(self, stack):
        """Of each kind the dashboards count, a known number. Left open: a
        consumer on node 2 holding one unacked message of dash-work."""
        with stack.connect(0) as c:
            ch = c.channel()
            ch.confirm_delivery()
            for q in ("dash-work", "dash-idle", "dash-gone", "dash-empty", "dash-consume"):
                ch.queue_declare(q)
            ch.queue_delete("dash-gone")
            for i in range(12):
                ch.basic_publish("", "dash-work", b"x" * SIZES[i % 3])
            for _ in range(2):
                ch.basic_publish("", "dash-consume", b"y" * SIZES[0])
            ch.basic_publish("", "dash-idle", b"left for nobody")
            with self.assertRaises(pika.exceptions.UnroutableError):  # returned
                ch.basic_publish("amq.direct", "nowhere", b"r", mandatory=True)
            unconfirmed = c.channel()
            unconfirmed.basic_publish("amq.direct", "nowhere", b"d")  # dropped
            unconfirmed.close()
            for _ in range(2):
                self.assertIsNotNone(ch.basic_get("dash-work", auto_ack=True)[0])
            method, _, _ = ch.basic_get("dash-work", auto_ack=False)
            ch.basic_ack(method.delivery_tag)
            self.assertEqual(ch.basic_get("dash-empty", auto_ack=True), (None, None, None))
            consume(c, "dash-consume", 2, auto_ack=True).close()
            ch.close()
        held = stack.connect(1)
        self.addCleanup(held.close)
        consume(held, "dash-work", 1, auto_ack=False)

    def test_every_overview_query_has_data_and_the_workloads_figures(self):
        stack = Stack(self)
        cluster = stack.cluster_name()
        self.workload(stack)
        done = time.time()
        # Every exporter scraped after the workload (the three are scraped
        # independently); then 12 + 2 + 1 + 1 + 1 published.
        wait_for(lambda: (stack.query("min(timestamp(rabbitmq_identity_info))") or 0) > done,
                 "a scrape of every exporter after the workload", timeout=60)
        self.assertEqual(stack.query("sum(rabbitmq_global_messages_received_total)"), 17)
        for version, queries in (("current", overview_queries(cluster)),
                                 ("3.10", overview_queries_3_10(cluster))):
            for panel, expr in queries.items():
                with self.subTest(dashboard=version, panel=panel):
                    self.assertTrue(stack.series(expr), "no data for: " + expr)
        q = overview_queries(cluster)
        # dash-work: 12, less 3 got and 1 unacked; dash-idle: 1.
        self.assertEqual(stack.value(q["Ready messages"]), 9)
        self.assertEqual(stack.value(q["Unacknowledged messages"]), 1)
        self.assertEqual(stack.value(q["Nodes"]), 3)
        self.assertEqual(stack.value(q["Consumers"]), 1)
        self.assertEqual(stack.value(q["Connections"]), 1)
        self.assertEqual(stack.value(q["Queues"]), 4)
        self.assertEqual(stack.value(q["Publishers"]), 0)  # their channels closed
        self.assertEqual(len(stack.series(q["Node table"])), 3)
        self.assertEqual(stack.value(overview_queries_3_10(cluster)["Publishers"]), 0)
        # Of the 17 bodies: 4 each of 500 and 5000 bytes, the rest under 100.
        share = lambda le: stack.value(q["Message Size Distribution le=" + le])  # noqa: E731
        self.assertAlmostEqual(share("100.0"), 9 / 17)
        self.assertAlmostEqual(share("1000.0"), 4 / 17)
        self.assertAlmostEqual(share("10000.0"), 4 / 17)
        self.assertEqual(share("1e+06"), 0)
        self.assertAlmostEqual(stack.value(q["Avg Size"]),
                               (4 * sum(SIZES) + 2 * 50 + 15 + 1 + 1) / 17)
        totals = {
            "rabbitmq_global_messages_delivered_get_auto_ack_total": 2,
            "rabbitmq_global_messages_delivered_get_manual_ack_total": 1,
            "rabbitmq_global_messages_get_empty_total": 1,
            "rabbitmq_global_messages_delivered_consume_auto_ack_total": 2,
            "rabbitmq_global_messages_delivered_consume_manual_ack_total": 1,
            "rabbitmq_global_messages_delivered_total": 6,
            "rabbitmq_global_messages_acknowledged_total": 1,
            "rabbitmq_global_messages_unroutable_returned_total": 1,
            "rabbitmq_global_messages_unroutable_dropped_total": 1,
            "rabbitmq_global_messages_received_confirm_total": 16,
            "rabbitmq_channel_messages_unroutable_dropped_total": 1,
            "rabbitmq_queues_declared_total": 5,
            "rabbitmq_queues_created_total": 5,
            "rabbitmq_queues_deleted_total": 1,
        }
        for family, expected in totals.items():
            with self.subTest(family=family):
                self.assertEqual(stack.query("sum(%s)" % family), expected)


class AlertRulesTest(unittest.TestCase):
    def test_the_alert_rules_fire_when_their_condition_holds(self):
        stack = Stack(self, detailed=True)
        rules = alert_expressions()
        held = stack.connect(2)
        self.addCleanup(held.close)
        ch = held.channel()
        ch.queue_declare("alert-q")
        ch.basic_publish("", "alert-q", b"waiting")
        consumer = consume(held, "alert-q", 1, auto_ack=False)
        # The queue has a consumer, nothing was unroutable, one connection
        # is open and few came and went: none of them fires.
        wait_for(lambda: stack.query('rabbitmq_detailed_queue_consumers{queue="alert-q"}') == 1,
                 "Prometheus reads alert-q's consumer", timeout=60)
        for rule in ("QueueHasNoConsumers", "UnroutableMessages", "HighConnectionChurn",
                     "FileDescriptorsNearLimit", "MemoryAlarm", "DiskAlarm"):
            with self.subTest(rule=rule, condition="false"):
                self.assertEqual(stack.series(rules[rule]), [])
        consumer.close()  # its message goes back to the queue
        wait_for(lambda: any(s["metric"].get("queue") == "alert-q"
                             for s in stack.series(rules["QueueHasNoConsumers"])),
                 "QueueHasNoConsumers fires for the queue nobody consumes", timeout=60)
        ch.basic_publish("amq.topic", "no.binding", b"dropped")
        wait_for(lambda: stack.series(rules["UnroutableMessages"]),
                 "UnroutableMessages fires after an unroutable publish", timeout=60)
        for _ in range(40):
            stack.connect(0).close()
        wait_for(lambda: stack.series(rules["HighConnectionChurn"]),
                 "HighConnectionChurn fires after a burst of connections", timeout=60)


class AlarmedCluster(Cluster):
    """Node 2 past its memory limit (1 byte: the memory alarm is on from its
    start), node 3 below its free-disk limit (more than any disk holds)."""

    def _make_nodes(self):
        super()._make_nodes()
        self.nodes[1].extra_config += "\n[alarms]\nmemory_limit = 1\n"
        self.nodes[2].extra_config += "\n[alarms]\ndisk_free_limit = 9223372036854775807\n"


class AlarmRulesTest(unittest.TestCase):
    def test_the_memory_and_disk_alarm_rules_fire_for_the_nodes_in_alarm(self):
        stack = Stack(self, cluster=AlarmedCluster)
        cluster = stack.cluster_name()
        rules = alert_expressions()
        for rule in ("MemoryAlarm", "DiskAlarm"):
            wait_for(lambda: stack.series(rules[rule]), rule + " fires", timeout=60)
            [fired] = stack.series(rules[rule])
            self.assertEqual(fired["metric"], {"rabbitmq_cluster": cluster})
        # Each for the node in that alarm only.
        by_node = ("max by (rabbitmq_node) (%s * on(instance) group_left(rabbitmq_node) "
                   "rabbitmq_identity_info{job=\"warren\"}) > 0")
        for family, node in (("rabbitmq_alarms_memory_used_watermark", "warren@c2"),
                             ("rabbitmq_alarms_free_disk_space_watermark", "warren@c3")):
            with self.subTest(family=family):
                found = stack.series(by_node % family)
                self.assertEqual([s["metric"]["rabbitmq_node"] for s in found], [node])


def offline_prometheus(test, tsdb):
    """Debian's Prometheus over the TSDB directory `tsdb`, scraping nothing,
    stopped when `test` ends; returns series(expr, at): the result of an
    instant query at unix time `at`."""
    work = tempfile.mkdtemp(prefix="warren-prometheus-")
    test.addCleanup(shutil.rmtree, work, ignore_errors=True)
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  evaluation_interval: 1m\n")
    port = harness.free_port()
    prom = subprocess.Popen(
        [PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + tsdb,
         "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    test.addCleanup(lambda: (prom.terminate(), prom.wait(timeout=30)))

    def ready():
        try:
            get("http://127.0.0.1:%d/-/ready" % port)
            return True
        except OSError:
            return False
    wait_for(ready, "Prometheus over the recorded TSDB is ready", timeout=60)

    def series(expr, at):
        body = get("http://127.0.0.1:%d/api/v1/query?query=%s&time=%s"
                   % (port, urllib.parse.quote(expr), at))
        return json.loads(body)["data"]["result"]
    return series


def openmetrics(scrapes, labels):
    """OpenMetrics text of `scrapes` ([(unix time, Prometheus text)]), each
    sample stamped with its scrape's time and given `labels` (what
    Prometheus adds to what it scrapes: instance, job); families grouped as
    OpenMetrics wants them, untyped ones as unknown."""
    families = {}
    extra = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for at, text in scrapes:
        types = dict(re.findall(r"^# TYPE (\w+) (\w+)$", text, re.M))
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, own, value = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line).groups()
            kind = "unknown" if types[name] == "untyped" else types[name]
            families.setdefault(name, (kind, []))[1].append(
                "%s{%s} %s %d" % (name, extra + ("," + own if own else ""), value, at))
    out = []
    for name, (kind, lines) in families.items():
        out += ["# TYPE %s %s" % (name, kind)] + lines
    return "\n".join(out + ["# EOF"]) + "\n"


class QueueIsGrowingTest(unittest.TestCase):
    """QueueIsGrowing compares a queue's length averaged over ten minutes
    with the same average a minute earlier, and must hold for ten minutes:
    half an hour of history, which a test cannot wait for.

    Real: the cluster, the node's queues and their lengths (a workload
    publishes to "growing" between scrapes; "steady" keeps its 3), the
    exporter's answers to /metrics/detailed (every scrape is one real HTTP
    scrape of it, taken after the workload's step), promtool writing them
    into a TSDB, and Prometheus evaluating the rule over that TSDB.
    Synthetic: the time. Scrape N is stamped one minute after scrape N-1
    (the whole series lies in the past hour), and the `instance` and `job`
    labels are added as Prometheus adds them when it scrapes."""

    STEPS = 32         # one scrape a (recorded) minute
    GROWTH_FROM = 11   # "growing" takes 5 messages a minute from minute 11
    PER_STEP = 5

    def test_queue_is_growing_fires_for_the_queue_growing_for_ten_minutes(self):
        cluster = Cluster(self)
        cluster.__enter__()
        self.addCleanup(cluster.__exit__, None, None, None)
        node = cluster.nodes[0]
        exporter = Exporter(["127.0.0.1:%d" % node.grpc_listen_port])
        self.addCleanup(exporter.stop)
        path = "/metrics/detailed?family=queue_coarse_metrics&vhost=%2F"
        start = (int(time.time()) // 60 - 45) * 60  # minute-aligned, 45 minutes ago
        scrapes = []
        with pika.BlockingConnection(pika.ConnectionParameters(node.host, node.port)) as c:
            ch = c.channel()
            ch.queue_declare("growing")
            ch.queue_declare("steady")
            for _ in range(3):
                ch.basic_publish("", "steady", b"s")
            for minute in range(self.STEPS):
                if minute >= self.GROWTH_FROM:
                    for _ in range(self.PER_STEP):
                        ch.basic_publish("", "growing", b"g")
                ch.queue_declare("growing", passive=True)  # after the publishes are handled
                scrapes.append((start + 60 * minute, exporter.metrics(path)))
        self.assertIn('queue="growing"', scrapes[-1][1])
        work = tempfile.mkdtemp(prefix="warren-tsdb-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        source = os.path.join(work, "scrapes.om")
        with open(source, "w") as f:
            f.write(openmetrics(scrapes, {"instance": "127.0.0.1:%d" % exporter.port,
                                          "job": "detailed"}))
        tsdb = os.path.join(work, "data")
        made = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", source,
                               tsdb], capture_output=True, text=True, timeout=120)
        self.assertEqual(made.returncode, 0, made.stdout + made.stderr)
        series = offline_prometheus(self, tsdb)
        rule = alert_expressions()["QueueIsGrowing"]
        cluster_name = re.search(r'rabbitmq_cluster="([^"]*)"', scrapes[-1][1]).group(1)

        def at(minute):  # between two scrapes: each window holds ten of them
            return start + 60 * minute + 30
        # Before the growth: nothing fires.
        self.assertEqual(series(rule, at(self.GROWTH_FROM - 1)), [])
        # From a full window of growth on, at every evaluation for ten
        # minutes (`for: 10m`): "growing" alone, grown by 5 a minute.
        for minute in range(self.GROWTH_FROM + 10, self.STEPS):
            with self.subTest(minute=minute):
                [fired] = series(rule, at(minute))
                self.assertEqual(fired["metric"]["queue"], "growing")
                self.assertEqual(fired["metric"]["rabbitmq_cluster"], cluster_name)
                self.assertAlmostEqual(float(fired["value"][1]), self.PER_STEP)


if __name__ == "__main__":
    harness.main()
