"""warren-mgmt facing hostile or careless clients: slow clients (slowloris)
do not starve others and are cut off at their deadlines; credentials are
checked before a body is read; bodies and heads are capped; deeply nested
JSON, catastrophic regular expressions, bad numbers and nulls are clear
400s; cross-site writes are refused (415 for a body that is not JSON, 403
for a foreign Origin) while the documented curl and rabbitmqadmin commands
work; names that are not UTF-8 are listed; SIGTERM stops it at once even
with requests in flight."""
import base64
import json
import os
import signal
import tempfile
import time
import unittest

import pika  # Debian's python3-pika

import mgmt
from hostile import (RawName, closed_by_peer, connect, raw, read_response, request_text,  # noqa: E402
                     silent_server, slow_clients)

GUEST = "Basic " + base64.b64encode(b"guest:guest").decode()
WRONG = "Basic " + base64.b64encode(b"guest:wrong").decode()


class HardeningTest(mgmt.NodeAndMgmt):
    """One node and warren-mgmt with short deadlines and a small body cap."""
    HEAD_TIMEOUT = 3
    MAX_BODY = 300000

    @classmethod
    def setUpClass(cls):
        cls.broker = mgmt.harness.Broker(definitions=cls.definitions)
        cls.broker.__enter__()
        cls.conf = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
        cls.conf.write("head_timeout = %d\nbody_timeout = 3\nidle_timeout = 3\n"
                       "max_body_size = %d\nallowed_origins = [\"https://Proxy.example\"]\n"
                       % (cls.HEAD_TIMEOUT, cls.MAX_BODY))
        cls.conf.close()
        try:
            cls.api = mgmt.Mgmt(["127.0.0.1:%d" % cls.broker.grpc_port],
                                extra_args=["--config", cls.conf.name]).__enter__()
        except BaseException:
            cls.broker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        os.unlink(cls.conf.name)

    def send(self, method, path, body=None, headers=()):
        return raw(self.api.port, request_text(method, path, self.api.port, body, headers))

    # --- slow clients -----------------------------------------------------

    def test_slow_clients_do_not_starve_others_and_are_cut_off(self):
        slow = slow_clients(self, self.api.port, b"GET /api/overview HTTP/1.1\r\n")
        started = time.monotonic()
        status, data, _ = self.api.request("GET", "/api/whoami")
        self.assertEqual((status, data["name"]), (200, "guest"))
        self.assertLess(time.monotonic() - started, 5.0)
        # Each is closed once its head deadline passes, though it keeps
        # sending.
        deadline = time.monotonic() + self.HEAD_TIMEOUT + 10
        for s in slow:
            self.assertTrue(closed_by_peer(s, deadline), "a slow client was not cut off")
        self.assertEqual(self.api.ok("GET", "/api/whoami")["name"], "guest")

    def test_slow_body_and_idle_connection_are_closed(self):
        with connect(self.api.port) as s:
            s.sendall(request_text("PUT", "/api/vhosts/slow-body", self.api.port, None,
                                   ["Authorization: " + GUEST,
                                    "Content-Type: application/json",
                                    "Content-Length: 100"]) + b"{")
            self.assertTrue(closed_by_peer(s, time.monotonic() + 15))
        with connect(self.api.port) as s:
            s.sendall(request_text("GET", "/api/whoami", self.api.port, None,
                                   ["Authorization: " + GUEST]))
            self.assertEqual(read_response(s)[0], 200)
            # Kept alive, then closed when idle past idle_timeout.
            self.assertTrue(closed_by_peer(s, time.monotonic() + 15))
        self.assertEqual(self.api.request("GET", "/api/vhosts/slow-body")[0], 404)

    # --- credentials before the body; size caps ----------------------------

    def test_401_before_any_body_is_read(self):
        with connect(self.api.port) as s:
            s.sendall(request_text("POST", "/api/definitions", self.api.port, None,
                                   ["Authorization: " + WRONG,
                                    "Content-Type: application/json",
                                    "Content-Length: 300000000"]))
            status, headers, body = read_response(s)
            self.assertEqual(status, 401)
            self.assertIn("www-authenticate", headers)
            self.assertEqual(json.loads(body)["error"], "not_authorized")
        with connect(self.api.port) as s:  # no credentials at all
            s.sendall(request_text("PUT", "/api/vhosts/x", self.api.port, None,
                                   ["Content-Length: 300000000"]))
            self.assertEqual(read_response(s)[0], 401)

    def test_body_above_max_body_size_is_413(self):
        # Announced: refused before it is sent.
        with connect(self.api.port) as s:
            s.sendall(request_text("POST", "/api/definitions", self.api.port, None,
                                   ["Authorization: " + GUEST,
                                    "Content-Type: application/json",
                                    "Content-Length: %d" % (self.MAX_BODY + 1)]))
            status, headers, body = read_response(s)
            self.assertEqual(status, 413)
            self.assertTrue(headers["content-type"].startswith("application/json"))
            self.assertIn(str(self.MAX_BODY), json.loads(body)["reason"])
        # Chunked: refused once it passes the cap.
        with connect(self.api.port) as s:
            s.sendall(request_text("POST", "/api/definitions", self.api.port, None,
                                   ["Authorization: " + GUEST,
                                    "Content-Type: application/json",
                                    "Transfer-Encoding: chunked"]))
            chunk = b" " * 50000
            try:
                for _ in range(2 * self.MAX_BODY // len(chunk)):
                    s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
            self.assertEqual(read_response(s)[0], 413)
        # At the cap: read.
        status, _, _ = self.send("POST", "/api/definitions",
                                 "{}" + " " * (self.MAX_BODY - 2),
                                 ["Authorization: " + GUEST, "Content-Type: application/json"])
        self.assertEqual(status, 204)

    def test_head_limits(self):
        many = ["X-H-%d: v" % i for i in range(150)]
        self.assertEqual(self.send("GET", "/api/whoami", None,
                                   ["Authorization: " + GUEST] + many)[0], 431)
        self.assertEqual(self.send("GET", "/api/whoami", None,
                                   ["Authorization: " + GUEST, "X-Big: " + "a" * 20000])[0], 431)
        self.assertEqual(self.send("GET", "/api/queues/%2F/" + "q" * 9000, None,
                                   ["Authorization: " + GUEST])[0], 414)
        status, _, _ = raw(self.api.port, b"NOT A REQUEST\r\n\r\n")
        self.assertEqual(status, 400)

    # --- bodies and query parameters ----------------------------------------

    def test_deeply_nested_json_is_400(self):
        deep = "[" * 50000 + "]" * 50000
        for method, path, body in (
                ("PUT", "/api/queues/%2F/deep", '{"arguments": {"x": %s}}' % deep),
                ("PUT", "/api/policies/%2F/deep",
                 '{"pattern": ".*", "definition": {"x": %s}}' % deep),
                ("POST", "/api/definitions", deep)):
            status, data, _ = self.api.request(method, path, raw=body)
            self.assertEqual(status, 400, path)
            self.assertIn("nested deeper", data["reason"])
        self.assertEqual(self.api.ok("GET", "/api/whoami")["name"], "guest")

    def test_catastrophic_regex_answers_and_bad_regex_is_400(self):
        self.api.ok("PUT", "/api/queues/%2F/mine-" + "a" * 40, {})
        self.addCleanup(self.api.request, "DELETE", "/api/queues/%2F/mine-" + "a" * 40)
        started = time.monotonic()
        status, data, _ = self.api.request(
            "GET", "/api/queues?name=%5Emine-%28a%2A%29%2Ab&use_regex=true", user="manager",
            password="manager")
        self.assertEqual((status, data), (200, []))
        self.assertLess(time.monotonic() - started, 5.0)
        status, data, _ = self.api.request("GET", "/api/queues?name=mine-A%2B$&use_regex=true",
                                           user="manager", password="manager")
        self.assertEqual([q["name"] for q in data], ["mine-" + "a" * 40])
        status, data, _ = self.api.request("GET", "/api/queues?name=%28&use_regex=true")
        self.assertEqual(status, 400)
        self.assertIn("regular expression", data["reason"])

    def test_bad_numbers_and_nulls_are_clear(self):
        self.api.ok("PUT", "/api/queues/%2F/nums", {})
        self.addCleanup(self.api.request, "DELETE", "/api/queues/%2F/nums")
        for count in ("99999999999999999999", "9223372036854775808", 1e300, "1x", -1):
            status, data, _ = self.api.request(
                "POST", "/api/queues/%2F/nums/get",
                {"count": count, "ackmode": "ack_requeue_true", "encoding": "auto"})
            self.assertEqual(status, 400, count)
        status, _, _ = self.api.request("PUT", "/api/policies/%2F/p",
                                        {"pattern": ".*", "definition": {},
                                         "priority": 2 ** 40})
        self.assertEqual(status, 400)
        # A null field is an absent one (not a 500).
        status, _, _ = self.api.request("PUT", "/api/queues/%2F/nulls",
                                        {"durable": None, "auto_delete": None,
                                         "arguments": None})
        self.assertEqual(status, 201)
        self.api.ok("DELETE", "/api/queues/%2F/nulls")
        for query in ("page=99999999999999999999", "page=1&page_size=99999999999",
                      "page=1&page_size=0", "page=%zz"):
            self.assertEqual(self.api.request("GET", "/api/queues?" + query)[0], 400, query)

    # --- cross-site requests -------------------------------------------------

    def admin_exists(self, name):
        return self.api.request("GET", "/api/users/" + name)[0] == 200

    def test_writes_need_a_json_body_and_no_foreign_origin(self):
        evil = json.dumps({"users": [{"name": "evil", "password": "evil",
                                      "tags": "administrator"}]})
        for ctype in ("text/plain", "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=x"):
            status, data, _ = self.api.request("POST", "/api/definitions", raw=evil,
                                               headers={"Content-Type": ctype})
            self.assertEqual(status, 415, ctype)
            self.assertEqual(data["error"], "unsupported_media_type")
        # A body with no Content-Type at all.
        status, _, _ = self.send("POST", "/api/definitions", evil, ["Authorization: " + GUEST])
        self.assertEqual(status, 415)
        status, data, _ = self.api.request("POST", "/api/definitions", raw=evil,
                                           headers={"Origin": "http://evil.example"})
        self.assertEqual(status, 403)
        status, _, _ = self.api.request("PUT", "/api/vhosts/evil",
                                        headers={"Origin": "null"})
        self.assertEqual(status, 403)
        self.assertFalse(self.admin_exists("evil"))
        # The server's own origin, and JSON with a charset, are fine.
        status, _, _ = self.api.request(
            "PUT", "/api/vhosts/same-origin", {},
            headers={"Origin": "http://127.0.0.1:%d" % self.api.port,
                     "Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(status, 201)
        self.api.ok("DELETE", "/api/vhosts/same-origin")
        # An origin the configuration allows (allowed_origins).
        status, _, _ = self.api.request("PUT", "/api/vhosts/allowed-origin", {},
                                        headers={"Origin": "https://proxy.example"})
        self.assertEqual(status, 201)
        self.api.ok("DELETE", "/api/vhosts/allowed-origin")

    def test_writes_without_a_body_need_no_content_type(self):
        # curl -u guest:guest -X PUT http://localhost:15672/api/vhosts/vh1
        auth = ["Authorization: " + GUEST]
        self.assertEqual(self.send("PUT", "/api/vhosts/vh1", None, auth)[0], 201)
        self.assertEqual(self.send("PUT", "/api/vhosts/vh1", None, auth)[0], 204)
        self.assertEqual(self.send("PUT", "/api/vhosts/vh2", None,
                                   auth + ["Content-Length: 0"])[0], 201)
        self.assertEqual(self.send("PUT", "/api/queues/%2F/no-body", None, auth)[0], 201)
        self.addCleanup(self.api.request, "DELETE", "/api/queues/%2F/no-body")
        self.assertEqual(self.send("PUT", "/api/users/nobody", None, auth)[0], 201)
        self.assertEqual(self.send("PUT", "/api/exchanges/%2F/no-body", None, auth)[0], 400)
        self.assertEqual(self.send("POST", "/api/bindings/%2F/e/amq.direct/q/no-body", None,
                                   auth)[0], 201)
        for method, path in (("PUT", "/api/permissions/vh1/nobody"),
                             ("PUT", "/api/policies/%2F/p"),
                             ("POST", "/api/exchanges/%2F/amq.default/publish"),
                             ("POST", "/api/queues/%2F/no-body/get")):
            status, _, body = self.send(method, path, None, auth)
            self.assertEqual(status, 400, path)
            self.assertIn("is missing", json.loads(body)["reason"], path)
        for method, path in (("DELETE", "/api/users/nobody"), ("DELETE", "/api/vhosts/vh1"),
                             ("DELETE", "/api/vhosts/vh2")):
            self.assertEqual(self.send(method, path, None, auth)[0], 204, path)

    # --- names that are not UTF-8 ---------------------------------------------

    def test_names_that_are_not_utf8_are_listed(self):
        conn = pika.BlockingConnection(pika.ConnectionParameters(
            "127.0.0.1", self.broker.port, credentials=pika.PlainCredentials("guest", "guest")))
        self.addCleanup(conn.close)
        ch = conn.channel()
        ch.queue_declare(RawName(b"q\xff"))
        ch.queue_bind(RawName(b"q\xff"), "amq.direct", routing_key=RawName(b"key\xfe"))
        ch.basic_consume(RawName(b"q\xff"), lambda *a: None, consumer_tag=RawName(b"tag\xfd"))
        status, queues, _ = self.api.request("GET", "/api/queues")
        self.assertEqual(status, 200)
        self.assertIn("q\ufffd", [q["name"] for q in queues])
        status, bindings, _ = self.api.request("GET", "/api/bindings")
        self.assertEqual(status, 200)
        self.assertIn("key\ufffd", [b["routing_key"] for b in bindings])
        status, consumers = mgmt.wait_for(
            lambda: (lambda r: r[1] and (r[0], r[1]))(self.api.request("GET", "/api/consumers")),
            "the consumer listed")
        self.assertEqual(status, 200)
        self.assertIn("tag\ufffd", [c["consumer_tag"] for c in consumers])
        self.assertEqual(self.api.request("GET", "/api/connections")[0], 200)
        self.assertEqual(self.api.request("GET", "/api/channels")[0], 200)
        self.assertEqual(self.api.request("GET", "/api/queues/%2F/q%FF")[0], 200)
        # A vhost, user or policy name is text: one that is not UTF-8 is a
        # clear 400.
        for path in ("/api/vhosts/v%FF", "/api/users/u%FF", "/api/policies/%2F/p%FF"):
            status, data, _ = self.api.request("PUT", path, {"pattern": ".*",
                                                             "definition": {}})
            self.assertEqual(status, 400, path)
            self.assertIn("not valid UTF-8", data["reason"], path)


class LogTest(unittest.TestCase):
    def test_request_lines_are_logged_escaped(self):
        with mgmt.harness.Broker(definitions=mgmt.DEFINITIONS) as b, \
                mgmt.Mgmt(["127.0.0.1:%d" % b.grpc_port],
                          extra_args=["--log-level", "debug"]) as api:
            status, _, _ = raw(api.port, request_text(
                "GET", "/api/queues/%2F/q\xff\xfename", api.port, None,
                ["Authorization: " + GUEST]))
            self.assertEqual(status, 404)
            line = mgmt.wait_for(
                lambda: [l for l in api.log if "/api/queues/%2F/q" in l],
                "the request logged")[0]
            self.assertIn(r"/api/queues/%2F/q\xff\xfename -> 404", line)


class ClientAddressTest(unittest.TestCase):
    def test_every_node_call_carries_the_http_clients_address(self):
        # A fake Admin service (python3-grpcio, generic handlers) that
        # records each call's metadata and answers an empty message.
        import grpc
        from concurrent import futures
        calls = []

        def record(name):
            def handler(request, context):
                calls.append((name, dict(context.invocation_metadata())))
                return b""
            return grpc.unary_unary_rpc_method_handler(
                handler, request_deserializer=None, response_serializer=None)

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "warren.v1.Admin", {m: record(m) for m in ("AuthenticateUser", "WhoAmI",
                                                       "AddVHost")})])
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self.addCleanup(server.stop, None)
        with mgmt.Mgmt(["127.0.0.1:%d" % port]) as api:
            self.assertEqual(api.request("GET", "/api/whoami")[0], 200)
            self.assertEqual(api.request("PUT", "/api/vhosts/v")[0], 201)
        self.assertEqual([name for name, _ in calls],
                         ["AuthenticateUser", "WhoAmI", "AuthenticateUser", "AddVHost"])
        for name, metadata in calls:
            self.assertEqual(metadata.get("x-warren-client-address"), "127.0.0.1", name)
            self.assertEqual(metadata.get("authorization"), GUEST, name)


class StopTest(unittest.TestCase):
    def test_sigterm_stops_promptly_with_requests_in_flight(self):
        # A "node" that accepts and never answers: the request's gRPC call
        # blocks until warren-mgmt cancels it.
        silent, accepted = silent_server(self)
        with mgmt.Mgmt(["127.0.0.1:%d" % silent]) as api:
            slow = [connect(api.port) for _ in range(8)]
            for s in slow:
                s.sendall(b"GET /api/overview HTTP/1.1\r\n")
            in_flight = connect(api.port)
            in_flight.sendall(request_text("GET", "/api/overview", api.port, None,
                                           ["Authorization: " + GUEST]))
            self.assertTrue(accepted.wait(10), "warren-mgmt never called the node")
            started = time.monotonic()
            api.proc.send_signal(signal.SIGTERM)
            self.assertEqual(api.proc.wait(timeout=10), 0)
            self.assertLess(time.monotonic() - started, 5.0)
            for s in slow + [in_flight]:
                s.close()


if __name__ == "__main__":
    mgmt.harness.main()
