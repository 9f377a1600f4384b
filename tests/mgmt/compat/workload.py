"""The fixed workload of the management API's key check, and the key paths of
its answers. Shared by record.py (against RabbitMQ, which writes the file the
test compares with) and tests/mgmt/test_keys.py (against Warren), so both
brokers see exactly the same calls.

The workload, through the management API (`api`, a tests/mgmt/mgmt.py Client)
and AMQP 0-9-1 (Debian's pika) on `amqp_host`:`amqp_port`:
  - vhost "compat"; user "compat-user" (tag management) with every permission
    there, and "compat-idle" with none; guest gets every permission there too;
  - policy "compat-ttl" on queue compat.durable;
  - one exchange of each type (compat.direct, .fanout, .topic, .headers), a
    durable queue (compat.durable) and a non-durable one (compat.transient),
    bindings from each exchange, one with header arguments, and one exchange
    to exchange;
  - a publisher in confirm mode (connection "compat-publisher") sends 5
    persistent messages to compat.durable through compat.direct, 3 to
    compat.transient through compat.fanout and one that no queue takes;
  - a consumer (connection "compat-consumer", prefetch 1, manual ack) acks
    the first message it gets and holds the second unacknowledged;
  - a basic.get with ack, one without, and one on an empty queue
    (compat.empty), on the publisher's channel.
Afterwards compat.durable has 3 ready messages and 1 unacknowledged one,
compat.transient 1 ready one; both connections stay open until close().

Key paths (paths_of): an object's keys, nested objects' as dotted paths
("message_stats.publish_details.rate"); a list of objects adds "key[].sub" for
every element's keys, unioned ("listeners[].port"); a list of scalars, or an
empty list, is just "key". A listing (a JSON list at the top) is the union of
its elements' paths, with no prefix. Values that are maps keyed by data, not
by the API (OPAQUE_KEYS: arguments, client_properties, policy definitions,
limits, socket options, a vhost's state per node, ...), are recorded as their own path only, not their
contents: what is inside depends on the client or the user, not the broker.
"""
import time
import urllib.parse

import pika  # Debian's python3-pika

VHOST = "compat"
USER, PASSWORD = "compat-user", "compat-secret"
IDLE_USER = "compat-idle"
POLICY = "compat-ttl"
EXCHANGES = {"compat.direct": "direct", "compat.fanout": "fanout", "compat.topic": "topic",
             "compat.headers": "headers"}
DURABLE, TRANSIENT, EMPTY = "compat.durable", "compat.transient", "compat.empty"
PUBLISHER, CONSUMER = "compat-publisher", "compat-consumer"

# Maps whose keys are data (names a client, user or operator chose), recorded
# as one path each whatever they hold.
OPAQUE_KEYS = frozenset({
    "arguments",          # x-arguments of queues, exchanges, bindings, consumers
    "client_properties",  # what the client sent in connection.start-ok
    "definition",         # a policy's keys
    "effective_policy_definition",
    "limits",             # per user or vhost, keyed by limit name
    "cluster_state",      # a vhost's, keyed by node name
    "ra_open_file_metrics",  # a node's, keyed by the broker's own Raft processes
    "socket_opts",        # a listener's socket options, keyed by option
    "ssl_opts",
})

STATS_TIMEOUT = 60.0  # RabbitMQ emits stats every collect_statistics_interval


def q(name):
    """One path segment, percent-encoded ("/" -> %2F)."""
    return urllib.parse.quote(name, safe="")


def paths_of(value, prefix=""):
    """The set of key paths of a JSON value (module docstring)."""
    out = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            path = prefix + key
            out.add(path)
            if key not in OPAQUE_KEYS:
                out |= paths_of(sub, path + ".")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                # The top of a listing has no name of its own.
                out |= paths_of(item, prefix[:-1] + "[]." if prefix else "")
    return out


def _wait(condition, what, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("not within %.0f s: %s" % (timeout, what))
        time.sleep(0.1)


class Workload:
    """Runs the workload on `api` (guest/guest, an administrator) and AMQP;
    close() closes its connections."""

    def __init__(self, api, amqp_host, amqp_port):
        self.api = api
        self.amqp = (amqp_host, amqp_port)
        self.publisher = self.consumer = None
        self.held = None

    def __enter__(self):
        try:
            self._definitions()
            self._publish_and_consume()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for conn in (self.consumer, self.publisher):
            if conn is not None and conn.is_open:
                conn.close()
        self.publisher = self.consumer = None

    def _definitions(self):
        api, v = self.api, q(VHOST)
        api.ok("PUT", "/api/vhosts/" + v, {})
        api.ok("PUT", "/api/users/" + USER, {"password": PASSWORD, "tags": "management"})
        api.ok("PUT", "/api/users/" + IDLE_USER, {"password": PASSWORD, "tags": ""})
        for user in (USER, "guest"):
            api.ok("PUT", "/api/permissions/%s/%s" % (v, user),
                   {"configure": ".*", "write": ".*", "read": ".*"})
        api.ok("PUT", "/api/policies/%s/%s" % (v, POLICY),
               {"pattern": "^compat\\.durable$", "apply-to": "queues",
                "definition": {"message-ttl": 3600000}, "priority": 1})
        for name, kind in EXCHANGES.items():
            api.ok("PUT", "/api/exchanges/%s/%s" % (v, name),
                   {"type": kind, "durable": True, "auto_delete": False, "arguments": {}})
        for name, durable in ((DURABLE, True), (TRANSIENT, False), (EMPTY, True)):
            api.ok("PUT", "/api/queues/%s/%s" % (v, name),
                   {"durable": durable, "auto_delete": False, "arguments": {}})
        for source, kind, dest, key, args in (
                ("compat.direct", "q", DURABLE, "d", {}),
                ("compat.fanout", "q", TRANSIENT, "", {}),
                ("compat.topic", "q", DURABLE, "t.#", {}),
                ("compat.headers", "q", TRANSIENT, "", {"x-match": "all", "k": "v"}),
                ("compat.direct", "e", "compat.fanout", "e2e", {})):
            api.ok("POST", "/api/bindings/%s/e/%s/%s/%s" % (v, source, kind, dest),
                   {"routing_key": key, "arguments": args})

    def _connect(self, name):
        params = pika.ConnectionParameters(
            host=self.amqp[0], port=self.amqp[1], virtual_host=VHOST,
            credentials=pika.PlainCredentials(USER, PASSWORD), heartbeat=0,
            client_properties={"connection_name": name})
        return pika.BlockingConnection(params)

    def _publish_and_consume(self):
        self.publisher = self._connect(PUBLISHER)
        ch = self.publisher.channel()
        ch.confirm_delivery()
        persistent = pika.BasicProperties(delivery_mode=2, content_type="text/plain")
        for i in range(5):
            ch.basic_publish("compat.direct", "d", b"durable-%d" % i, persistent)
        for i in range(3):
            ch.basic_publish("compat.fanout", "", b"transient-%d" % i)
        ch.basic_publish("compat.direct", "nowhere", b"unroutable")
        method, _, _ = ch.basic_get(TRANSIENT, auto_ack=False)
        ch.basic_ack(method.delivery_tag)
        ch.basic_get(TRANSIENT, auto_ack=True)
        ch.basic_get(EMPTY, auto_ack=True)

        self.consumer = self._connect(CONSUMER)
        cch = self.consumer.channel()
        cch.basic_qos(prefetch_count=1)
        got = []
        cch.basic_consume(DURABLE, lambda c, m, p, b: got.append(m.delivery_tag),
                          auto_ack=False, consumer_tag="compat-consumer-tag")

        def delivered(n):
            self.consumer.process_data_events(time_limit=0.1)
            return len(got) >= n
        _wait(lambda: delivered(1), "the first delivery to the consumer", 30)
        cch.basic_ack(got[0])
        _wait(lambda: delivered(2), "the second delivery to the consumer", 30)
        self.held = got[1]  # never acked: one unacknowledged message

    # What the API shows ----------------------------------------------------
    def connection_name(self, client_name):
        """The broker's name of the connection whose client called itself
        `client_name`."""
        def find():
            status, conns, _ = self.api.get("/api/connections")
            for c in conns if status == 200 else []:
                if (c.get("client_properties") or {}).get("connection_name") == client_name:
                    return c["name"]
            return None
        return _wait(find, "connection %s in /api/connections" % client_name, STATS_TIMEOUT)

    def shows(self, path, *keys, equal=None):
        """Whether GET `path` (one object, or any item of a listing) has the
        nested key `keys`, truthy or (with `equal`) equal to it."""
        status, obj, _ = self.api.get(path)
        if status != 200:
            return False
        for item in obj if isinstance(obj, list) else [obj]:
            node = item
            for k in keys:
                node = node.get(k) if isinstance(node, dict) else None
            if (node == equal) if equal is not None else bool(node):
                return True
        return False

    def wait_for_stats(self, extra=()):
        """Until the API shows the workload's effects (RabbitMQ emits its
        stats every collect_statistics_interval; a client's basic.ack has
        no answer, so a broker may count it a little later): each check is
        (path, key, ...[, {"equal": value}]); `extra` adds checks."""
        v = q(VHOST)
        durable, transient = "/api/queues/%s/%s" % (v, DURABLE), "/api/queues/%s/%s" % (v, TRANSIENT)
        checks = [
            (durable, "messages_ready", {"equal": 3}),
            (durable, "messages_unacknowledged", {"equal": 1}),
            (durable, "message_stats", "ack"),
            (transient, "messages", {"equal": 1}),
            (transient, "message_stats", "deliver_get"),
            ("/api/channels", "message_stats", "confirm"),
            ("/api/channels", "message_stats", "ack"),
            ("/api/connections", "recv_oct"),
            ("/api/overview", "message_stats", "ack"),
        ] + [
            # Idle once nothing has touched them for a while (RabbitMQ: its
            # queue process hibernated), so idle_since shows, as recorded.
            ("/api/queues/%s/%s" % (v, name), "idle_since") for name in (DURABLE, TRANSIENT, EMPTY)
        ] + list(extra)
        for check in checks:
            kw = check[-1] if isinstance(check[-1], dict) else {}
            keys = check[1:-1] if kw else check[1:]
            _wait(lambda: self.shows(check[0], *keys, **kw),
                  "%s%s in %s" % (".".join(keys), " = %r" % kw["equal"] if kw else "", check[0]),
                  STATS_TIMEOUT)

    def endpoints(self, node_name, amqp_port):
        """{label: path} of every GET the check records, after the workload:
        labels name the objects by role, as the brokers name connections
        and channels differently."""
        v = q(VHOST)
        pub, con = self.connection_name(PUBLISHER), self.connection_name(CONSUMER)
        _, bindings, _ = self.api.get("/api/bindings/%s/e/compat.direct/q/%s" % (v, DURABLE))
        props = bindings[0]["properties_key"]
        out = {
            "overview": "/api/overview",
            "nodes": "/api/nodes",
            "nodes/{node}": "/api/nodes/" + q(node_name),
            "extensions": "/api/extensions",
            "cluster-name": "/api/cluster-name",
            "whoami": "/api/whoami",
            "definitions": "/api/definitions",
            "definitions/{vhost}": "/api/definitions/" + v,
            "connections": "/api/connections",
            "connections/{publisher}": "/api/connections/" + q(pub),
            "connections/{consumer}": "/api/connections/" + q(con),
            "connections/{publisher}/channels": "/api/connections/%s/channels" % q(pub),
            "connections/username/{user}": "/api/connections/username/" + q(USER),
            "vhosts/{vhost}/connections": "/api/vhosts/%s/connections" % v,
            "channels": "/api/channels",
            "channels/{publisher channel}": "/api/channels/" + q(pub + " (1)"),
            "channels/{consumer channel}": "/api/channels/" + q(con + " (1)"),
            "vhosts/{vhost}/channels": "/api/vhosts/%s/channels" % v,
            "consumers": "/api/consumers",
            "consumers/{vhost}": "/api/consumers/" + v,
            "exchanges": "/api/exchanges",
            "exchanges/{vhost}": "/api/exchanges/" + v,
            "exchanges/{vhost}/compat.direct": "/api/exchanges/%s/compat.direct" % v,
            "exchanges/{vhost}/compat.headers": "/api/exchanges/%s/compat.headers" % v,
            "exchanges/{vhost}/compat.direct/bindings/source":
                "/api/exchanges/%s/compat.direct/bindings/source" % v,
            "exchanges/{vhost}/compat.fanout/bindings/destination":
                "/api/exchanges/%s/compat.fanout/bindings/destination" % v,
            "queues": "/api/queues",
            "queues?page": "/api/queues?page=1&page_size=100",
            "queues/{vhost}": "/api/queues/" + v,
            "queues/{vhost}/compat.durable": "/api/queues/%s/%s" % (v, DURABLE),
            "queues/{vhost}/compat.transient": "/api/queues/%s/%s" % (v, TRANSIENT),
            "queues/{vhost}/compat.empty": "/api/queues/%s/%s" % (v, EMPTY),
            "queues/{vhost}/compat.durable/bindings":
                "/api/queues/%s/%s/bindings" % (v, DURABLE),
            "bindings": "/api/bindings",
            "bindings/{vhost}": "/api/bindings/" + v,
            "bindings/{vhost}/e/compat.direct/q/compat.durable":
                "/api/bindings/%s/e/compat.direct/q/%s" % (v, DURABLE),
            "bindings/{vhost}/e/compat.direct/q/compat.durable/{props}":
                "/api/bindings/%s/e/compat.direct/q/%s/%s" % (v, DURABLE, q(props)),
            "bindings/{vhost}/e/compat.direct/e/compat.fanout":
                "/api/bindings/%s/e/compat.direct/e/compat.fanout" % v,
            "vhosts": "/api/vhosts",
            "vhosts/{vhost}": "/api/vhosts/" + v,
            "vhosts/{vhost}/permissions": "/api/vhosts/%s/permissions" % v,
            "vhosts/{vhost}/topic-permissions": "/api/vhosts/%s/topic-permissions" % v,
            "users": "/api/users",
            "users/{user}": "/api/users/" + q(USER),
            "users/{user}/permissions": "/api/users/%s/permissions" % q(USER),
            "users/without-permissions": "/api/users/without-permissions",
            "permissions": "/api/permissions",
            "permissions/{vhost}/{user}": "/api/permissions/%s/%s" % (v, q(USER)),
            "topic-permissions": "/api/topic-permissions",
            "policies": "/api/policies",
            "policies/{vhost}": "/api/policies/" + v,
            "policies/{vhost}/{policy}": "/api/policies/%s/%s" % (v, POLICY),
            "operator-policies": "/api/operator-policies",
            "parameters": "/api/parameters",
            "global-parameters": "/api/global-parameters",
            "vhost-limits": "/api/vhost-limits",
            "user-limits": "/api/user-limits",
            "feature-flags": "/api/feature-flags",
            "health/checks/alarms": "/api/health/checks/alarms",
            "health/checks/local-alarms": "/api/health/checks/local-alarms",
            "health/checks/port-listener/{amqp port}":
                "/api/health/checks/port-listener/%d" % amqp_port,
            "health/checks/protocol-listener/amqp": "/api/health/checks/protocol-listener/amqp",
            "health/checks/virtual-hosts": "/api/health/checks/virtual-hosts",
            "health/checks/node-is-quorum-critical":
                "/api/health/checks/node-is-quorum-critical",
            "health/checks/node-is-mirror-sync-critical":
                "/api/health/checks/node-is-mirror-sync-critical",
            "healthchecks/node": "/api/healthchecks/node",
            # Declares a queue of its own: last, so no listing above has it.
            "aliveness-test/{vhost}": "/api/aliveness-test/" + v,
        }
        return out

    def record(self, node_name, amqp_port, bodies=None):
        """{label: {"status": HTTP status, "keys": sorted key paths}} of every
        endpoint, in endpoints()' order; `bodies`, a dict, gets each answer
        whole."""
        out = {}
        for label, path in self.endpoints(node_name, amqp_port).items():
            status, body, _ = self.api.get(path)
            out[label] = {"status": status,
                          "keys": sorted(paths_of(body)) if isinstance(body, (dict, list))
                          else []}
            if bodies is not None:
                bodies[label] = body
        return out
