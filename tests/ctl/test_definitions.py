"""Definitions export and import in RabbitMQ's format (issue: operate a node,
"Done when" 4): what Warren exports imports into a fresh Warren and exports
the same again; a file as RabbitMQ 3.x exports it imports cleanly, its users
can log in with their passwords and its bindings route. A node started with
load_definitions (RabbitMQ's key of that name) imports the file at every
start, and refuses to start on a bad one, naming it."""
import base64
import hashlib
import json
import os
import tempfile
import unittest

from ctl import connect, harness, listing, warrenctl

SECTIONS = ("users", "vhosts", "permissions", "policies", "queues", "exchanges", "bindings")

NO_USERS = {"vhosts": [], "users": [], "permissions": []}


def rabbit_hash(password, salt=b"\x90\x8d\xc6\x0a"):
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def canonical(defs):
    """Each section as a sorted list of JSON texts: order carries no meaning."""
    return {s: sorted(json.dumps(x, sort_keys=True) for x in defs.get(s, [])) for s in SECTIONS}


# Written by hand in the layout of `rabbitmqctl export_definitions` from
# RabbitMQ 3.12/3.13 (plus a 3.8-style comma-separated tags string).
RABBITMQ_EXPORT = {
    "rabbit_version": "3.12.13",
    "rabbitmq_version": "3.12.13",
    "product_name": "RabbitMQ",
    "product_version": "3.12.13",
    "users": [
        {"name": "admin", "password_hash": rabbit_hash("123456"),
         "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"],
         "limits": {}},
        {"name": "app", "password_hash": rabbit_hash("app-secret", b"\x01\x02\x03\x04"),
         "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": "management,monitoring",
         "limits": {"max-connections": 10}},
    ],
    "vhosts": [
        {"name": "/", "description": "Default virtual host", "tags": [],
         "metadata": {"description": "Default virtual host", "tags": []},
         "default_queue_type": "classic"},
        {"name": "orders", "description": "", "tags": ["prod"], "metadata": {}},
    ],
    "permissions": [
        {"user": "admin", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
        {"user": "app", "vhost": "orders", "configure": "^orders\\.", "write": ".*",
         "read": ".*"},
    ],
    "topic_permissions": [
        {"user": "app", "vhost": "orders", "exchange": "amq.topic", "write": ".*", "read": ".*"},
    ],
    "parameters": [],
    "global_parameters": [
        {"name": "internal_cluster_id", "value": "rabbitmq-cluster-id-abc"},
        {"name": "cluster_name", "value": "rabbit@node1"},
    ],
    "policies": [
        {"vhost": "/", "name": "ha-all", "pattern": "^", "apply-to": "all",
         "definition": {"ha-mode": "all", "ha-sync-mode": "automatic"}, "priority": 0},
        {"vhost": "orders", "name": "ttl", "pattern": "^orders\\.", "apply-to": "queues",
         "definition": {"message-ttl": 60000, "max-length": 1000}, "priority": 1},
    ],
    "queues": [
        {"name": "orders.created", "vhost": "orders", "durable": True, "auto_delete": False,
         "arguments": {"x-queue-type": "classic", "x-max-priority": 5}},
        {"name": "orders.audit", "vhost": "orders", "durable": True, "auto_delete": False,
         "arguments": {}},
        {"name": "hello", "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}},
    ],
    "exchanges": [
        {"name": "orders", "vhost": "orders", "type": "topic", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}},
        {"name": "orders.fanout", "vhost": "orders", "type": "fanout", "durable": True,
         "auto_delete": False, "internal": False,
         "arguments": {"alternate-exchange": "amq.fanout"}},
    ],
    "bindings": [
        {"source": "orders", "vhost": "orders", "destination": "orders.created",
         "destination_type": "queue", "routing_key": "order.created.*", "arguments": {}},
        {"source": "orders", "vhost": "orders", "destination": "orders.fanout",
         "destination_type": "exchange", "routing_key": "#", "arguments": {}},
        {"source": "orders.fanout", "vhost": "orders", "destination": "orders.audit",
         "destination_type": "queue", "routing_key": "", "arguments": {}},
    ],
}


class DefinitionsTest(unittest.TestCase):
    def export(self, broker):
        _, out, _ = warrenctl(broker, "export_definitions", "-")
        return json.loads(out)

    def import_file(self, broker, defs, **kwargs):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(defs, f)
        self.addCleanup(os.unlink, f.name)
        return warrenctl(broker, "import_definitions", f.name, **kwargs)

    def test_warren_export_imports_into_warren_unchanged(self):
        with harness.Broker() as a:
            warrenctl(a, "add_vhost", "shop")
            warrenctl(a, "add_user", "clerk", "s3cret")
            warrenctl(a, "set_user_tags", "clerk", "management")
            warrenctl(a, "set_permissions", "-p", "shop", "clerk", "^shop-", ".*", ".*")
            warrenctl(a, "set_policy", "-p", "shop", "--priority", "3", "--apply-to", "queues",
                      "limits", "^shop-", '{"max-length":100,"overflow":"reject-publish"}')
            c = connect(a, "admin", "123456")
            ch = c.channel()
            ch.exchange_declare("events", "topic", durable=True)
            ch.exchange_declare("fan", "fanout", durable=True, arguments={"x-note": "kept"})
            ch.exchange_bind("fan", "events", "audit.#")
            ch.queue_declare("orders", durable=True, arguments={"x-max-priority": 3,
                                                                "x-message-ttl": 5000})
            ch.queue_bind("orders", "events", "order.*")
            ch.queue_bind("orders", "fan")
            ch.queue_declare("scratch", durable=False)  # transient: not exported
            ch.queue_bind("scratch", "events", "#")
            c.close()
            exported = self.export(a)

        names = [q["name"] for q in exported["queues"]]
        self.assertEqual(names, ["orders"])
        self.assertNotIn("scratch", json.dumps(exported["bindings"]))

        with harness.Broker(definitions=NO_USERS) as b:
            _, out, _ = self.import_file(b, exported)
            again = self.export(b)
            self.assertEqual(canonical(again), canonical(exported))
            # The password hash came across: clerk logs in to shop.
            connect(b, "clerk", "s3cret", vhost="shop").close()
            # And the bindings route: order.new reaches orders via events.
            c = connect(b, "admin", "123456")
            ch = c.channel()
            ch.basic_publish("events", "order.new", b"x")
            ch.basic_publish("events", "audit.login", b"y")  # events -> fan -> orders
            self.assertEqual(ch.queue_declare("orders", passive=True).method.message_count, 2)
            c.close()

    def test_a_rabbitmq_export_imports_cleanly(self):
        with harness.Broker(definitions=NO_USERS) as b:
            self.import_file(b, RABBITMQ_EXPORT)
            users = {u["user"]: sorted(u["tags"]) for u in listing(b, "list_users")}
            self.assertEqual(users["admin"], ["administrator"])
            self.assertEqual(users["app"], ["management", "monitoring"])
            self.assertEqual(sorted(v["name"] for v in listing(b, "list_vhosts")),
                             ["/", "orders"])
            queues = {q["name"]: q for q in listing(b, "list_queues", "-p", "orders", "name",
                                                    "policy", "durable")}
            self.assertEqual(queues["orders.created"]["policy"], "ttl")
            self.assertTrue(queues["orders.audit"]["durable"])
            policies = {p["name"]: p for p in listing(b, "list_policies")}
            self.assertEqual(policies["ha-all"]["definition"],
                             {"ha-mode": "all", "ha-sync-mode": "automatic"})

            # The hashed passwords work; the bindings route in vhost orders.
            c = connect(b, "app", "app-secret", vhost="orders")
            ch = c.channel()
            ch.basic_publish("orders", "order.created.eu", b"o1")
            ch.basic_publish("orders", "order.cancelled", b"o2")  # via orders.fanout only
            c.close()  # after its publishes are handled
            depths = {q["name"]: q["messages"]
                      for q in listing(b, "list_queues", "-p", "orders", "name", "messages")}
            self.assertEqual(depths, {"orders.created": 1, "orders.audit": 2})
            connect(b, "admin", "123456").close()

    def test_bad_definitions_are_refused_with_a_reason(self):
        with harness.Broker() as b:
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                f.write("{not json")
            self.addCleanup(os.unlink, f.name)
            code, _, err = warrenctl(b, "import_definitions", f.name, check=False)
            self.assertNotEqual(code, 0)
            self.assertIn("JSON", err)

            code, _, err = self.import_file(b, {"queues": [{"name": "q", "vhost": "nowhere"}]},
                                            check=False)
            self.assertNotEqual(code, 0)
            self.assertIn("nowhere", err)

            bad_hash = {"users": [{"name": "x", "password_hash": "abc",
                                   "hashing_algorithm": "rabbit_password_hashing_md5"}]}
            code, _, err = self.import_file(b, bad_hash, check=False)
            self.assertNotEqual(code, 0)
            self.assertIn("rabbit_password_hashing_md5", err)
            self.assertNotIn("x", [u["user"] for u in listing(b, "list_users")])

    def definitions_file(self, defs):
        if isinstance(defs, dict):
            defs = json.dumps(defs)
        with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
            f.write(defs if isinstance(defs, bytes) else defs.encode())
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_a_load_definitions_file_is_imported_at_every_start(self):
        path = self.definitions_file(RABBITMQ_EXPORT)
        with harness.Broker(args=["--load-definitions", path]) as b:
            first = canonical(self.export(b))
            for section in ("policies", "queues", "exchanges", "bindings"):
                expected = canonical(RABBITMQ_EXPORT)[section]
                self.assertEqual(first[section], expected, section)
            connect(b, "app", "app-secret", vhost="orders").close()
            # Changed meanwhile, then restarted: the file's definitions come
            # back as the file says (as RabbitMQ's import at boot), and what
            # the file does not name stays.
            warrenctl(b, "clear_policy", "ha-all")
            warrenctl(b, "add_vhost", "extra")
            b.restart()
            again = canonical(self.export(b))
            self.assertEqual(again["policies"], first["policies"])
            self.assertIn("extra", [v["name"] for v in self.export(b)["vhosts"]])
            self.assertEqual(again["queues"], first["queues"])

    def test_a_bad_load_definitions_file_stops_the_start_and_names_it(self):
        cases = [("{not json", "not valid JSON"),
                 (json.dumps({"queues": [{"name": "q", "vhost": "nowhere"}]}), "nowhere"),
                 # Hostile files: read whole only up to a bound, parsed with
                 # the depth check of every JSON the node takes.
                 ("[" * 100000, "nested deeper than 100 levels"),
                 (b'{"vhosts": [{"name": "\xff\xfe"}]}', "not valid JSON"),
                 (json.dumps(RABBITMQ_EXPORT)[:-40], "not valid JSON"),
                 (b" " * (64 * 1024 * 1024 + 1), "is larger than 64 MiB")]
        for text, reason in cases:
            path = self.definitions_file(text)
            node = harness.Broker(args=["--load-definitions", path])
            with self.assertRaises(RuntimeError) as failed:
                node.__enter__()
            self.assertIn("load_definitions " + path, str(failed.exception))
            self.assertIn(reason, str(failed.exception))
        missing = harness.Broker(args=["--load-definitions", "/nonexistent/defs.json"])
        with self.assertRaises(RuntimeError) as failed:
            missing.__enter__()
        self.assertIn("/nonexistent/defs.json: cannot be read", str(failed.exception))


if __name__ == "__main__":
    harness.main()
