"""The management API driven exactly as RabbitMQ's documentation and
rabbitmqadmin drive it: the same paths, bodies and query strings, and the
response shapes those tools read; and every command of Debian's rabbitmqadmin
(/usr/bin/rabbitmqadmin, from the rabbitmq-server package) run against
warren-mgmt, each one's effect checked through the API."""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pika  # Debian's python3-pika

import mgmt

RABBITMQADMIN = "/usr/bin/rabbitmqadmin"

# What RabbitMQ 3.13 answers for one message of POST /api/queues/.../get.
GET_KEYS = {"payload_bytes", "redelivered", "exchange", "routing_key", "message_count",
            "properties", "payload", "payload_encoding"}
PAGE_KEYS = {"filtered_count", "item_count", "items", "page", "page_count", "page_size",
             "total_count"}


class CompatibilityTest(mgmt.NodeAndMgmt):
    definitions = mgmt.harness.DEFINITIONS

    def call(self, method, path, body=None):
        status, data, headers = self.api.request(method, path, body)
        if data is not None:
            self.assertTrue(headers["Content-Type"].startswith("application/json"), path)
        return status, data

    def test_declare_publish_get_list_delete(self):
        # rabbitmqadmin declare queue name=q durable=true
        status, data = self.call("PUT", "/api/queues/%2F/q",
                                 {"durable": True, "auto_delete": False, "arguments": {}})
        self.assertEqual((status, data), (201, None))
        status, _ = self.call("PUT", "/api/queues/%2F/q",
                              {"durable": True, "auto_delete": False, "arguments": {}})
        self.assertEqual(status, 204)

        # rabbitmqadmin publish routing_key=q payload=hello
        status, data = self.call("POST", "/api/exchanges/%2F/amq.default/publish",
                                 {"properties": {}, "routing_key": "q", "payload": "hello",
                                  "payload_encoding": "string"})
        self.assertEqual((status, data), (200, {"routed": True}))

        # rabbitmqadmin list queues (its columns) and the UI's paged listing
        status, rows = self.call("GET", "/api/queues?columns=vhost,name,messages,durable")
        self.assertEqual(status, 200)
        self.assertIn({"vhost": "/", "name": "q", "messages": 1, "durable": True}, rows)
        status, page = self.call("GET", "/api/queues?page=1&page_size=100&name=&use_regex=false")
        self.assertEqual(set(page), PAGE_KEYS)
        self.assertEqual(page["items"][0]["name"], "q")

        # rabbitmqadmin get queue=q ackmode=ack_requeue_false
        status, msgs = self.call("POST", "/api/queues/%2F/q/get",
                                 {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto",
                                  "truncate": 50000})
        self.assertEqual(status, 200)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(set(msgs[0]), GET_KEYS)
        self.assertEqual(msgs[0], {"payload_bytes": 5, "redelivered": False, "exchange": "",
                                   "routing_key": "q", "message_count": 0, "properties": [],
                                   "payload": "hello", "payload_encoding": "string"})
        status, q = self.call("GET", "/api/queues/%2F/q")
        self.assertEqual((q["messages"], q["message_stats"]["ack"]), (0, 1))

        # rabbitmqadmin delete queue name=q
        self.assertEqual(self.call("DELETE", "/api/queues/%2F/q")[0], 204)
        status, data = self.call("GET", "/api/queues/%2F/q")
        self.assertEqual(status, 404)
        self.assertEqual(set(data), {"error", "reason"})

    def test_rabbitmqadmin_sends_booleans_and_counts_as_strings(self):
        status, _ = self.call("PUT", "/api/queues/%2F/q-str",
                              {"durable": "true", "auto_delete": "false", "arguments": {},
                               "node": None})
        self.assertEqual(status, 201)
        self.assertTrue(self.call("GET", "/api/queues/%2F/q-str")[1]["durable"])
        status, msgs = self.call("POST", "/api/queues/%2F/q-str/get",
                                 {"count": "1", "ackmode": "ack_requeue_true",
                                  "encoding": "auto"})
        self.assertEqual((status, msgs), (200, []))
        self.assertEqual(self.call("DELETE", "/api/queues/%2F/q-str")[0], 204)

    def test_exchange_and_binding_as_documented(self):
        self.assertEqual(self.call("PUT", "/api/exchanges/%2F/my-exchange",
                                   {"type": "direct", "auto_delete": False, "durable": True,
                                    "internal": False, "arguments": {}})[0], 201)
        self.call("PUT", "/api/queues/%2F/my-queue", {"durable": True})
        status, data, headers = self.api.request(
            "POST", "/api/bindings/%2F/e/my-exchange/q/my-queue",
            {"routing_key": "my_routing_key", "arguments": {}})
        self.assertEqual(status, 201)
        self.assertTrue(headers["Location"].endswith("/my_routing_key"))
        status, bindings = self.call("GET", "/api/bindings/%2F/e/my-exchange/q/my-queue")
        self.assertEqual(bindings, [{"source": "my-exchange", "vhost": "/",
                                     "destination": "my-queue", "destination_type": "queue",
                                     "routing_key": "my_routing_key", "arguments": {},
                                     "properties_key": "my_routing_key"}])
        status, data = self.call("POST", "/api/exchanges/%2F/my-exchange/publish",
                                 {"properties": {"delivery_mode": 2}, "routing_key":
                                  "my_routing_key", "payload": "hi", "payload_encoding": "string"})
        self.assertEqual(data, {"routed": True})
        self.assertEqual(self.call("DELETE", "/api/bindings/%2F/e/my-exchange/q/my-queue/"
                                             "my_routing_key")[0], 204)
        self.assertEqual(self.call("DELETE", "/api/exchanges/%2F/my-exchange")[0], 204)
        self.assertEqual(self.call("DELETE", "/api/queues/%2F/my-queue")[0], 204)

    def test_overview_vhosts_and_users_shapes(self):
        status, o = self.call("GET", "/api/overview")
        for key in ("rabbitmq_version", "cluster_name", "node"):
            self.assertIsInstance(o[key], str)
        for key in ("messages", "messages_ready", "messages_unacknowledged"):
            self.assertIsInstance(o["queue_totals"][key], int)
        for key in ("connections", "channels", "exchanges", "queues", "consumers"):
            self.assertIsInstance(o["object_totals"][key], int)
        status, vhosts = self.call("GET", "/api/vhosts")
        self.assertIn("/", [v["name"] for v in vhosts])
        status, users = self.call("GET", "/api/users")
        guest = [u for u in users if u["name"] == "guest"][0]
        self.assertEqual(guest["tags"], ["administrator"])
        self.assertEqual(self.call("GET", "/api/whoami")[1],
                         {"name": "guest", "tags": ["administrator"]})
        # curl -i -u guest:guest -H "content-type:application/json" -XPUT
        #   -d'{"password":"secret","tags":"administrator"}' .../api/users/bob
        self.assertEqual(self.call("PUT", "/api/users/bob",
                                   {"password": "secret", "tags": "administrator"})[0], 201)
        self.assertEqual(self.call("PUT", "/api/permissions/%2F/bob",
                                   {"configure": ".*", "write": ".*", "read": ".*"})[0], 201)
        self.assertEqual(self.call("DELETE", "/api/users/bob")[0], 204)


def password_hash(password, salt=b"\x90\x8d\xc6\x0a"):
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def close_quietly(conn):
    """Closes a pika connection the broker may have closed already."""
    try:
        conn.close()
    except pika.exceptions.AMQPError:
        pass


class RabbitmqadminTest(mgmt.NodeAndMgmt):
    """Every rabbitmqadmin verb and object type, in one story; the API says
    whether each did what it says."""
    definitions = mgmt.harness.DEFINITIONS

    def setUp(self):
        if not os.access(RABBITMQADMIN, os.X_OK):
            self.fail("rabbitmqadmin is missing: apt-get install rabbitmq-server (make deps)")
        self.home = tempfile.mkdtemp(prefix="warren-rabbitmqadmin-")
        self.addCleanup(shutil.rmtree, self.home)

    def admin(self, *args, user="guest", password="guest", stdin=None, ok=True):
        """rabbitmqadmin's stdout; with ok=False, (exit code, stdout + stderr)."""
        env = dict(os.environ, HOME=self.home)  # no ~/.rabbitmqadmin.conf
        r = subprocess.run(["/usr/bin/python3", RABBITMQADMIN, "-H", "127.0.0.1", "-P",
                            str(self.api.port), "-u", user, "-p", password, *args],
                           input=stdin, capture_output=True, text=True, timeout=60, env=env)
        if not ok:
            return r.returncode, r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, "rabbitmqadmin %s: %s%s" % (args, r.stdout, r.stderr))
        return r.stdout

    def listed(self, what, *args):
        return json.loads(self.admin("-f", "raw_json", "list", what, *args))

    def get(self, path):
        status, data, _ = self.api.request("GET", path)
        return data if status == 200 else status

    def test_help_and_version(self):
        self.assertIn("declare", self.admin("help", "subcommands"))
        self.assertIn("hostname", self.admin("help", "config"))
        self.assertIn("rabbitmqadmin", self.admin("--version"))

    def test_vhosts_users_permissions(self):
        self.admin("declare", "vhost", "name=adm-vh")
        self.assertEqual(self.get("/api/vhosts/adm-vh")["name"], "adm-vh")
        self.assertIn("adm-vh", [v["name"] for v in self.listed("vhosts")])
        self.admin("declare", "user", "name=adm-u", "password=pw", "tags=management")
        self.assertEqual(self.get("/api/users/adm-u")["tags"], ["management"])
        self.admin("declare", "user", "name=adm-h", "password_hash=" + password_hash("hpw"),
                   "tags=monitoring", "hashing_algorithm=rabbit_password_hashing_sha256")
        self.assertEqual(self.api.ok("GET", "/api/whoami", user="adm-h", password="hpw"),
                         {"name": "adm-h", "tags": ["monitoring"]})
        self.assertIn("adm-u", [u["name"] for u in self.listed("users")])
        self.admin("declare", "permission", "vhost=adm-vh", "user=adm-u", "configure=^c",
                   "write=^w", "read=^r")
        self.assertEqual(self.get("/api/permissions/adm-vh/adm-u"),
                         {"user": "adm-u", "vhost": "adm-vh", "configure": "^c", "write": "^w",
                          "read": "^r"})
        self.assertIn({"user": "adm-u", "vhost": "adm-vh", "configure": "^c", "write": "^w",
                       "read": "^r"}, self.listed("permissions"))
        # The user's own view, with the password given.
        self.assertEqual(self.admin("-f", "raw_json", "list", "users", user="adm-u",
                                    password="wrong", ok=False)[0], 1)
        self.admin("delete", "permission", "vhost=adm-vh", "user=adm-u")
        self.assertEqual(self.get("/api/permissions/adm-vh/adm-u"), 404)
        self.admin("delete", "user", "name=adm-u")
        self.admin("delete", "user", "name=adm-h")
        self.assertEqual(self.get("/api/users/adm-u"), 404)
        self.admin("delete", "vhost", "name=adm-vh")
        self.assertEqual(self.get("/api/vhosts/adm-vh"), 404)

    def test_exchanges_queues_bindings_policies(self):
        self.admin("declare", "exchange", "name=adm-x", "type=fanout", "durable=false")
        x = self.get("/api/exchanges/%2F/adm-x")
        self.assertEqual((x["type"], x["durable"]), ("fanout", False))
        self.admin("declare", "exchange", "name=adm-x2", "type=topic", "internal=true",
                   "arguments={}")
        self.assertTrue(self.get("/api/exchanges/%2F/adm-x2")["internal"])
        self.admin("declare", "queue", "name=adm-q", "durable=false",
                   'arguments={"x-max-length": 10}')
        q = self.get("/api/queues/%2F/adm-q")
        self.assertEqual((q["durable"], q["arguments"]), (False, {"x-max-length": 10}))
        self.admin("declare", "binding", "source=adm-x", "destination=adm-q",
                   "routing_key=rk")
        self.admin("declare", "binding", "source=adm-x", "destination=adm-x2",
                   "destination_type=exchange")
        bindings = self.listed("bindings")
        self.assertIn({"source": "adm-x", "vhost": "/", "destination": "adm-q",
                       "destination_type": "queue", "routing_key": "rk", "arguments": {},
                       "properties_key": "rk"}, bindings)
        self.assertIn("adm-x2", [b["destination"] for b in bindings])
        self.assertIn("adm-x", [e["name"] for e in self.listed("exchanges")])
        self.assertIn("adm-q", [q["name"] for q in self.listed("queues")])
        self.assertIn("adm-q", self.admin("list", "queues", "name", "messages"))
        self.admin("declare", "queue", "name=adm-q0")
        names = [q["name"] for q in json.loads(
            self.admin("-V", "/", "-S", "name", "-R", "-f", "raw_json", "list", "queues"))]
        self.assertEqual(names, sorted(names, reverse=True))
        self.assertLess(names.index("adm-q0"), names.index("adm-q"))
        self.admin("delete", "queue", "name=adm-q0")
        self.admin("declare", "policy", "name=adm-p", "pattern=^adm-", 'definition={"max-length": 5}',
                   "priority=3", "apply-to=queues")
        p = self.get("/api/policies/%2F/adm-p")
        self.assertEqual((p["definition"], p["priority"], p["apply-to"]),
                         ({"max-length": 5}, 3, "queues"))
        self.assertIn("adm-p", [p["name"] for p in self.listed("policies")])
        self.admin("delete", "policy", "name=adm-p")
        self.assertEqual(self.get("/api/policies/%2F/adm-p"), 404)
        self.admin("delete", "binding", "source=adm-x", "destination_type=queue",
                   "destination=adm-q", "properties_key=rk")
        self.admin("delete", "binding", "source=adm-x", "destination_type=exchange",
                   "destination=adm-x2")
        self.assertEqual(self.get("/api/bindings/%2F/e/adm-x/q/adm-q"), [])
        self.assertEqual(self.get("/api/bindings/%2F/e/adm-x/e/adm-x2"), [])
        for kind, name in (("exchange", "adm-x"), ("exchange", "adm-x2"), ("queue", "adm-q")):
            self.admin("delete", kind, "name=" + name)
            self.assertEqual(self.get("/api/%ss/%%2F/%s" % (kind, name)), 404)

    def test_publish_get_purge_and_connections(self):
        self.admin("declare", "queue", "name=adm-msgs")
        self.assertIn("Message published",
                      self.admin("publish", "routing_key=adm-msgs", "payload=hello",
                                 'properties={"content_type": "text/plain"}'))
        self.admin("publish", "exchange=amq.default", "routing_key=adm-msgs",
                   stdin="from stdin")
        self.assertIn("NOT routed", self.admin("publish", "routing_key=nowhere", "payload=x"))
        self.assertEqual(self.get("/api/queues/%2F/adm-msgs")["messages"], 2)
        got = json.loads(self.admin("-f", "raw_json", "get", "queue=adm-msgs",
                                    "ackmode=ack_requeue_false"))
        self.assertEqual((got[0]["payload"], got[0]["properties"]["content_type"]),
                         ("hello", "text/plain"))
        out = os.path.join(self.home, "payload")
        self.admin("get", "queue=adm-msgs", "ackmode=ack_requeue_true", "payload_file=" + out)
        with open(out) as f:
            self.assertEqual(f.read(), "from stdin")
        self.admin("purge", "queue", "name=adm-msgs")
        self.assertEqual(self.get("/api/queues/%2F/adm-msgs")["messages"], 0)

        conn = pika.BlockingConnection(pika.ConnectionParameters(
            "127.0.0.1", self.broker.port,
            client_properties={"connection_name": "adm-conn"}))
        self.addCleanup(close_quietly, conn)
        ch = conn.channel()
        ch.basic_consume("adm-msgs", lambda *a: None, consumer_tag="adm-tag")
        names = [c["name"] for c in self.listed("connections")]
        self.assertEqual(len(names), 1)
        self.assertEqual(len(self.listed("channels")), 1)
        self.assertIn("adm-tag", [c["consumer_tag"] for c in self.listed("consumers")])
        self.admin("close", "connection", "name=" + names[0])
        mgmt.wait_for(lambda: self.get("/api/connections") == [], "the connection closed")
        self.admin("delete", "queue", "name=adm-msgs")

    def test_show_nodes_and_what_warren_has_none_of(self):
        overview = json.loads(self.admin("-f", "raw_json", "show", "overview"))
        self.assertEqual(overview[0]["product_name"], "Warren")
        self.assertEqual(len(self.listed("nodes")), 1)
        for what in ("parameters", "operator_policies", "vhost_limits"):
            self.assertEqual(self.listed(what), [], what)
        # Warren has no federation: its parameters are refused as RabbitMQ
        # refuses a component whose plugin is not enabled.
        code, text = self.admin("declare", "parameter", "component=federation-upstream",
                                "name=up", 'value={"uri": "amqp://"}', ok=False)
        self.assertEqual(code, 1)
        self.assertIn("component federation-upstream not found", text)
        # Operator policies and vhost limits are declared, listed and deleted.
        self.admin("declare", "operator_policy", "name=op", "pattern=^adm-op",
                   'definition={"max-length": 1}', "apply-to=queues")
        self.assertEqual([(p["name"], p["definition"]) for p in self.listed("operator_policies")],
                         [("op", {"max-length": 1})])
        self.admin("declare", "vhost_limit", "vhost=/", "name=max-queues", "value=100")
        self.assertEqual(self.listed("vhost_limits"),
                         [{"vhost": "/", "value": {"max-queues": 100}}])
        self.admin("delete", "operator_policy", "name=op")
        self.admin("delete", "vhost_limit", "vhost=/", "name=max-queues")
        for what in ("operator_policies", "vhost_limits"):
            self.assertEqual(self.listed(what), [], what)
        for args in (("parameter", "component=federation-upstream", "name=up"),
                     ("operator_policy", "name=op")):
            code, text = self.admin("delete", *args, ok=False)
            self.assertEqual(code, 1, args)
            self.assertIn("Not found", text, args)

    def test_export_and_import(self):
        self.admin("declare", "queue", "name=adm-exported")
        path = os.path.join(self.home, "defs.json")
        self.admin("export", path)
        with open(path) as f:
            defs = json.load(f)
        self.assertIn("adm-exported", [q["name"] for q in defs["queues"]])
        defs["queues"].append(dict(defs["queues"][0], name="adm-imported"))
        with open(path, "w") as f:
            json.dump(defs, f)
        self.admin("import", path)
        self.assertEqual(self.get("/api/queues/%2F/adm-imported")["name"], "adm-imported")
        # One vhost's definitions, into another vhost.
        self.admin("declare", "vhost", "name=adm-copy")
        self.admin("-V", "/", "export", path)
        with open(path) as f:
            one = json.load(f)
        self.assertIn("adm-imported", [q["name"] for q in one["queues"]])
        self.assertNotIn("vhost", one["queues"][0])
        self.admin("-V", "adm-copy", "import", path)
        self.assertEqual(self.get("/api/queues/adm-copy/adm-imported")["vhost"], "adm-copy")
        self.admin("delete", "vhost", "name=adm-copy")
        for name in ("adm-exported", "adm-imported"):
            self.admin("delete", "queue", "name=" + name)


if __name__ == "__main__":
    mgmt.harness.main()
