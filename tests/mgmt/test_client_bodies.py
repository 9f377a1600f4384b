"""The management API driven with the exact requests of the Go client
rabbit-hole (michaelklishin/rabbit-hole, v3) and of Terraform's RabbitMQ
provider built on it (cyrilgdn/terraform-provider-rabbitmq, rabbitmq/
resource_*.go). Go is not at hand, so each request is written down here as
the bytes Go sends: the method; the path with every name through Go's
url.PathEscape ("/" is %2F, a space %20, while "$&+,:;=@" stay as they are);
Basic credentials and `Content-Type: application/json` on every write, a
DELETE included, which carries no body; and the body as Go's encoding/json
marshals the client's struct: compact, fields in the struct's order, map keys
sorted, `omitempty` fields left out when zero (an empty map too), "&", "<"
and ">" inside strings escaped as \\u0026, \\u003c, \\u003e, and the
client's tag lists (UserTags, VhostTags) marshalled as one comma-joined
string. Each test names the client's struct and file the body comes from.

What is asserted is what the provider relies on: a status rabbit-hole takes
as success (any 2xx; 404 too for a DELETE), and the object read back as the
provider's Read reads it, holding the fields it compares equal to what was
sent, so that `terraform plan` shows no change after an apply.

Shovels and federation upstreams are refused as RabbitMQ refuses them when
their plugin is off."""
import base64
import hashlib
import json
import os
import unittest
import urllib.parse

import mgmt

# What Go's net/http adds to every request rabbit-hole makes.
GO_HEADERS = {"User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip"}


def path_escape(name):
    """Go's url.PathEscape."""
    return urllib.parse.quote(name, safe="$&+,:;=@")


def go_sha256_hash(password, salt=b"T4xq"):
    """rabbit-hole's Base64EncodedSaltedPasswordHashSHA256 (users.go), with
    a fixed salt."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


class ClientBodiesTest(mgmt.NodeAndMgmt):
    def send(self, method, path, body=None, user="guest", password="guest"):
        """One request as rabbit-hole makes it: `path` under /api/ as the
        client builds it, `body` the marshalled bytes (str) or None.
        Returns (status, parsed answer, headers)."""
        status, data, headers = self.api.request(
            method, "/api/" + path, raw=body, user=user, password=password,
            headers=GO_HEADERS)
        return status, data, headers

    def accepted(self, method, path, body=None, **kw):
        """A call rabbit-hole takes as success; returns (status, headers)."""
        status, data, headers = self.send(method, path, body, **kw)
        ok = 200 <= status < 300 or (method == "DELETE" and status == 404)
        self.assertTrue(ok, "%s /api/%s %s -> %d %r" % (method, path, body, status, data))
        return status, headers

    def read(self, path, **kw):
        """A GET as the provider's Read makes it; must answer 200."""
        status, data, _ = self.send("GET", path, **kw)
        self.assertEqual(status, 200, "GET /api/%s -> %r" % (path, data))
        return data

    def vhost(self, name):
        """A vhost made as rabbitmq_vhost makes one with no settings, deleted
        afterwards as rabbitmq_vhost deletes it."""
        path = "vhosts/" + path_escape(name)
        self.assertEqual(self.accepted("PUT", path,
                                       '{"description":"","tags":"","tracing":false}')[0], 201)
        self.addCleanup(self.send, "DELETE", path)
        return path_escape(name)

    # -- rabbitmq_vhost: VhostSettings (vhosts.go), VhostLimitsValues
    #    (vhost_limits.go); resource_vhost.go's Create, Update, Read, Delete.

    def test_vhost_as_terraform_creates_updates_and_reads_it(self):
        name = "tf/vhost one+@"
        v = path_escape(name)
        self.assertEqual(v, "tf%2Fvhost%20one+@")
        # Create: settings as configured (default_queue_type omitempty, the
        # tags never set by the provider: VhostTags(nil) marshals as "").
        status, _ = self.accepted("PUT", "vhosts/" + v,
                                  '{"description":"orders \\u0026 invoices","tags":"",'
                                  '"default_queue_type":"quorum","tracing":true}')
        self.assertEqual(status, 201)
        self.addCleanup(self.send, "DELETE", "vhosts/" + v)
        # PutVhostLimits: one PUT per limit, the limit's name not escaped.
        self.accepted("PUT", "vhost-limits/%s/max-connections" % v, '{"value":100}')
        self.accepted("PUT", "vhost-limits/%s/max-queues" % v, '{"value":10}')

        # Read: GetVhost and GetVhostLimits; name, description, tracing and
        # the limits compared (default_queue_type read back by Update).
        got = self.read("vhosts/" + v)
        self.assertEqual((got["name"], got["description"], got["tracing"],
                          got["default_queue_type"]),
                         (name, "orders & invoices", True, "quorum"))
        limits = self.read("vhost-limits/" + v)
        self.assertEqual(limits, [{"vhost": name,
                                   "value": {"max-connections": 100, "max-queues": 10}}])
        for value in limits[0]["value"].values():
            self.assertIs(type(value), int)  # VhostLimitsValues is map[string]int

        # Update (description changed): the settings carry what was read
        # back, then both limits deleted and the configured ones put again.
        self.assertEqual(self.accepted("PUT", "vhosts/" + v,
                                       '{"description":"invoices","tags":"",'
                                       '"default_queue_type":"quorum","tracing":true}')[0], 204)
        self.accepted("DELETE", "vhost-limits/%s/max-connections" % v)
        self.accepted("DELETE", "vhost-limits/%s/max-queues" % v)
        self.accepted("PUT", "vhost-limits/%s/max-connections" % v, '{"value":50}')
        got = self.read("vhosts/" + v)
        self.assertEqual((got["description"], got["tracing"], got["default_queue_type"]),
                         ("invoices", True, "quorum"))
        self.assertEqual(self.read("vhost-limits/" + v),
                         [{"vhost": name, "value": {"max-connections": 50}}])
        self.assertIn({"vhost": name, "value": {"max-connections": 50}},
                      self.read("vhost-limits"))

        # Deleting a limit that is not set is no failure to rabbit-hole.
        self.accepted("DELETE", "vhost-limits/%s/max-queues" % v)
        # Delete: the vhost gone, a second delete a 404 the provider accepts.
        self.assertEqual(self.accepted("DELETE", "vhosts/" + v)[0], 204)
        self.assertEqual(self.send("GET", "vhosts/" + v)[0], 404)
        self.assertEqual(self.accepted("DELETE", "vhosts/" + v)[0], 404)

    def test_vhost_with_no_settings_and_rabbit_hole_tags(self):
        # The provider's Create with nothing configured.
        v = self.vhost("tf-plain")
        got = self.read("vhosts/" + v)
        self.assertEqual((got["description"], got["tracing"], got["tags"]), ("", False, []))
        self.assertEqual(self.read("vhost-limits/" + v), [])  # Read copes with none
        # rabbit-hole's PutVhost with Tags set: one comma-joined string,
        # read back as a list (VhostTags unmarshals either).
        self.assertEqual(self.accepted("PUT", "vhosts/" + v,
                                       '{"description":"d","tags":"east,orders",'
                                       '"default_queue_type":"classic","tracing":false}')[0], 204)
        got = self.read("vhosts/" + v)
        self.assertEqual((got["description"], got["tags"], got["default_queue_type"]),
                         ("d", ["east", "orders"], "classic"))
        self.assertIn(got["name"], [x["name"] for x in self.read("vhosts")])

    # -- rabbitmq_user: UserSettings and UserInfo (users.go); resource_user.go.

    def test_user_as_terraform_creates_updates_and_reads_it(self):
        # Create: UserSettings{Password, Tags}; Name has no omitempty, so
        # an empty "name" goes too (the path names the user).
        path = "users/" + path_escape("tf user")
        status, _ = self.accepted(
            "PUT", path, '{"name":"","tags":"management,policymaker","password":"s3cret"}')
        self.assertEqual(status, 201)
        self.addCleanup(self.send, "DELETE", path)
        got = self.read(path)
        self.assertEqual(got["name"], "tf user")
        self.assertEqual(sorted(got["tags"]), ["management", "policymaker"])
        me = self.read("whoami", user="tf user", password="s3cret")
        self.assertEqual(me["name"], "tf user")

        # Update: the same struct, tags and password as configured now.
        self.assertEqual(self.accepted(
            "PUT", path, '{"name":"","tags":"monitoring","password":"n3w"}')[0], 204)
        self.assertEqual(self.read(path)["tags"], ["monitoring"])
        self.assertEqual(self.send("GET", "whoami", user="tf user", password="s3cret")[0], 401)
        self.read("whoami", user="tf user", password="n3w")

        # No tags configured: "" — read back as no tags at all.
        self.accepted("PUT", path, '{"name":"","tags":"","password":"n3w"}')
        self.assertEqual(self.read(path)["tags"], [])

        self.assertEqual(self.accepted("DELETE", path)[0], 204)
        self.assertEqual(self.send("GET", path)[0], 404)
        self.assertEqual(self.accepted("DELETE", path)[0], 404)

    def test_user_with_a_password_hash_and_without_a_password(self):
        # PutUser with PasswordHash and HashingAlgorithm set, the hash made
        # as rabbit-hole's Base64EncodedSaltedPasswordHashSHA256 makes it.
        digest = go_sha256_hash("hashed")
        self.accepted("PUT", "users/tf-hashed",
                      '{"name":"","tags":"management","password_hash":"%s",'
                      '"hashing_algorithm":"rabbit_password_hashing_sha256"}' % digest)
        self.addCleanup(self.send, "DELETE", "users/tf-hashed")
        got = self.read("users/tf-hashed")
        self.assertEqual((got["password_hash"], got["hashing_algorithm"]),
                         (digest, "rabbit_password_hashing_sha256"))
        self.read("whoami", user="tf-hashed", password="hashed")

        # PutUserWithoutPassword marshals a UserInfo: password_hash has no
        # omitempty, so "" goes; the user then has no password to log in with.
        status, _ = self.accepted("PUT", "users/tf-nopass",
                                  '{"name":"","password_hash":"","tags":"monitoring"}')
        self.assertEqual(status, 201)
        self.addCleanup(self.send, "DELETE", "users/tf-nopass")
        self.assertEqual(self.read("users/tf-nopass")["tags"], ["monitoring"])
        self.assertEqual(self.send("GET", "whoami", user="tf-nopass", password="")[0], 401)

    # -- rabbitmq_permissions: Permissions and PermissionInfo
    #    (permissions.go); resource_permissions.go.

    def test_permissions_as_terraform_sets_reads_and_clears_them(self):
        v = self.vhost("tf-perms")
        self.accepted("PUT", "users/tf-perm-user",
                      '{"name":"","tags":"","password":"p"}')
        self.addCleanup(self.send, "DELETE", "users/tf-perm-user")
        path = "permissions/%s/tf-perm-user" % v
        status, _ = self.accepted("PUT", path, '{"configure":"^tf-","write":".*","read":""}')
        self.assertEqual(status, 201)
        self.assertEqual(self.read(path), {"user": "tf-perm-user", "vhost": "tf-perms",
                                           "configure": "^tf-", "write": ".*", "read": ""})
        self.assertEqual(self.accepted("PUT", path,
                                       '{"configure":".*","write":".*","read":".*"}')[0], 204)
        self.assertEqual(self.read(path)["read"], ".*")
        self.assertIn({"user": "tf-perm-user", "vhost": "tf-perms", "configure": ".*",
                       "write": ".*", "read": ".*"}, self.read("users/tf-perm-user/permissions"))
        self.assertEqual(self.accepted("DELETE", path)[0], 204)
        self.assertEqual(self.send("GET", path)[0], 404)  # Read: checkDeleted

    # -- rabbitmq_topic_permissions: TopicPermissions and TopicPermissionInfo
    #    (topic_permissions.go); resource_topic_permissions.go.

    def test_topic_permissions_as_terraform_sets_reads_updates_and_clears_them(self):
        v = self.vhost("tf-topics")
        self.accepted("PUT", "users/tf-topic-user", '{"name":"","tags":"","password":"p"}')
        self.addCleanup(self.send, "DELETE", "users/tf-topic-user")
        path = "topic-permissions/%s/tf-topic-user" % v
        # Create: one UpdateTopicPermissionsIn per element of `permissions`.
        self.assertEqual(self.accepted(
            "PUT", path, '{"exchange":"amq.topic","write":"^tf\\\\.","read":".*"}')[0], 201)
        self.assertEqual(self.accepted(
            "PUT", path, '{"exchange":"tf.events","write":"","read":"^in\\\\."}')[0], 204)
        # Read: GetTopicPermissionsIn; user and vhost from the first element,
        # the set from all of them.
        got = self.read(path)
        self.assertEqual((got[0]["user"], got[0]["vhost"]), ("tf-topic-user", "tf-topics"))
        self.assertEqual(
            {(p["exchange"], p["write"], p["read"]) for p in got},
            {("amq.topic", "^tf\\.", ".*"), ("tf.events", "", "^in\\.")})
        self.assertEqual(len(self.read("users/tf-topic-user/topic-permissions")), 2)
        self.assertEqual(len([p for p in self.read("topic-permissions/")
                              if p["user"] == "tf-topic-user"]), 2)
        # Update: ClearTopicPermissionsIn, then the new set put again.
        self.assertEqual(self.accepted("DELETE", path)[0], 204)
        self.assertEqual(self.accepted(
            "PUT", path, '{"exchange":"amq.topic","write":".*","read":".*"}')[0], 201)
        self.assertEqual([(p["exchange"], p["write"], p["read"]) for p in self.read(path)],
                         [("amq.topic", ".*", ".*")])
        # Delete, then Read: 404, which checkDeleted takes as gone; a second
        # Delete's 404 is no error to the provider.
        self.assertEqual(self.accepted("DELETE", path)[0], 204)
        self.assertEqual(self.send("GET", path)[0], 404)
        self.assertEqual(self.accepted("DELETE", path)[0], 404)

    # -- rabbitmq_policy and rabbitmq_operator_policy: Policy (policies.go),
    #    OperatorPolicy (operator_policies.go); resource_policy.go,
    #    resource_operator_policy.go (definition values that parse as
    #    integers sent as numbers, the rest as strings).

    def policy_round_trip(self, kind):
        v = self.vhost("tf-policies-" + kind)
        name = "tf policy&1"
        path = "%s/%s/%s" % (kind, v, path_escape(name))
        self.assertEqual(path_escape(name), "tf%20policy&1")
        definition = ({"max-length": 1000, "overflow": "reject-publish"} if kind == "policies"
                      else {"max-length": 5000, "message-ttl": 60000})
        body = ('{"vhost":"%s","pattern":"^tf\\\\.\\u0026","apply-to":"queues",'
                '"name":"tf policy\\u00261","priority":1,"definition":%s}'
                % ("tf-policies-" + kind, json.dumps(definition, separators=(",", ":"),
                                                    sort_keys=True)))
        self.assertEqual(self.accepted("PUT", path, body)[0], 201)
        self.addCleanup(self.send, "DELETE", path)
        got = self.read(path)
        self.assertEqual((got["name"], got["vhost"], got["pattern"], got["apply-to"],
                          got["priority"], got["definition"]),
                         (name, "tf-policies-" + kind, "^tf\\.&", "queues", 1, definition))
        self.assertIs(type(got["priority"]), int)
        for value in got["definition"].values():  # no "1000" for 1000
            self.assertIn(type(value), (int, str))
        self.assertEqual([p["name"] for p in self.read("%s/%s" % (kind, v))], [name])

        # Update: the whole policy again, priority 0 sent as 0.
        self.assertEqual(self.accepted("PUT", path, body.replace('"priority":1',
                                                                 '"priority":0'))[0], 204)
        self.assertEqual(self.read(path)["priority"], 0)
        self.assertEqual(self.accepted("DELETE", path)[0], 204)
        self.assertEqual(self.send("GET", path)[0], 404)
        self.assertEqual(self.accepted("DELETE", path)[0], 404)

    def test_policy_as_terraform_puts_reads_and_deletes_it(self):
        self.policy_round_trip("policies")

    def test_operator_policy_as_terraform_puts_reads_and_deletes_it(self):
        self.policy_round_trip("operator-policies")

    # -- rabbitmq_queue: QueueSettings (queues.go: type always sent, auto_delete
    #    and arguments omitempty, x-queue-type added when type is set);
    #    resource_queue.go.

    def test_queues_as_terraform_declares_reads_and_deletes_them(self):
        v = self.vhost("tf-queues")
        cases = [
            # (queue, body, durable, auto_delete, arguments read back)
            ("tf-plain", '{"type":"","durable":false}', False, False, {}),
            ("tf-auto", '{"type":"","durable":false,"auto_delete":true}', False, True, {}),
            # `arguments`: a Terraform map, so every value a string.
            ("tf-dlx", '{"type":"","durable":true,"arguments":{"x-dead-letter-exchange":'
                       '"tf-dlx","x-dead-letter-routing-key":"dead"}}', True, False,
             {"x-dead-letter-exchange": "tf-dlx", "x-dead-letter-routing-key": "dead"}),
            # `arguments_json`: numbers as Go's float64s print them.
            ("tf-json", '{"type":"","durable":true,"arguments":{"x-max-length":1000,'
                        '"x-message-ttl":60000,"x-overflow":"reject-publish"}}', True, False,
             {"x-max-length": 1000, "x-message-ttl": 60000, "x-overflow": "reject-publish"}),
            # rabbit-hole's DeclareQueue with Type set.
            ("tf-quorum", '{"type":"quorum","durable":true,"arguments":'
                          '{"x-queue-type":"quorum"}}', True, False, {"x-queue-type": "quorum"}),
        ]
        for queue, body, durable, auto_delete, arguments in cases:
            with self.subTest(queue=queue):
                path = "queues/%s/%s" % (v, queue)
                self.assertEqual(self.accepted("PUT", path, body)[0], 201)
                got = self.read(path)
                self.assertEqual((got["name"], got["vhost"], got["durable"],
                                  got["auto_delete"], got["arguments"]),
                                 (queue, "tf-queues", durable, auto_delete, arguments))
                # The same declaration again (a re-apply) is no error.
                self.assertEqual(self.accepted("PUT", path, body)[0], 204)
        # DeleteQueue with no options: an empty query string after "?".
        for queue, *_ in cases:
            path = "queues/%s/%s" % (v, queue)
            self.assertEqual(self.accepted("DELETE", path + "?")[0], 204)
            self.assertEqual(self.send("GET", path)[0], 404)
            self.assertEqual(self.accepted("DELETE", path + "?")[0], 404)

    # -- rabbitmq_exchange: ExchangeSettings (exchanges.go); resource_exchange.go.

    def test_exchanges_as_terraform_declares_reads_and_deletes_them(self):
        v = self.vhost("tf-exchanges")
        cases = [
            ("tf-topic", '{"type":"topic","durable":true,"arguments":'
                         '{"alternate-exchange":"tf-ae"}}', "topic", True, False,
             {"alternate-exchange": "tf-ae"}),
            ("tf-fanout", '{"type":"fanout","durable":false,"auto_delete":true}', "fanout",
             False, True, {}),
            ("tf/headers", '{"type":"headers","durable":true}', "headers", True, False, {}),
        ]
        for exchange, body, kind, durable, auto_delete, arguments in cases:
            with self.subTest(exchange=exchange):
                path = "exchanges/%s/%s" % (v, path_escape(exchange))
                self.assertEqual(self.accepted("PUT", path, body)[0], 201)
                got = self.read(path)
                self.assertEqual((got["name"], got["vhost"], got["type"], got["durable"],
                                  got["auto_delete"], got["arguments"]),
                                 (exchange, "tf-exchanges", kind, durable, auto_delete,
                                  arguments))
                self.assertEqual(self.accepted("DELETE", path)[0], 204)
                self.assertEqual(self.send("GET", path)[0], 404)

    # -- rabbitmq_binding: BindingInfo (bindings.go: vhost set, arguments at
    #    least {}, properties_key omitempty); resource_binding.go, whose id
    #    ends in the Location header's last segment, path-unescaped, and whose
    #    Read looks for a binding with that properties_key.

    def binding_round_trip(self, v, vhost, source, destination, dtype, routing_key, arguments):
        kind = "q" if dtype == "queue" else "e"
        base = "bindings/%s/e/%s/%s/%s" % (v, path_escape(source), kind,
                                           path_escape(destination))
        body = ('{"source":%s,"vhost":%s,"destination":%s,"destination_type":"%s",'
                '"routing_key":%s,"arguments":%s}'
                % tuple([json.dumps(source), json.dumps(vhost), json.dumps(destination), dtype,
                         json.dumps(routing_key),
                         json.dumps(arguments, separators=(",", ":"), sort_keys=True)]))
        status, headers = self.accepted("POST", base, body)
        self.assertEqual(status, 201)
        location = headers["Location"]
        properties_key = urllib.parse.unquote(location.split("/")[-1])
        found = [b for b in self.read(base)
                 if (b["source"], b["destination"], b["destination_type"],
                     b["properties_key"]) == (source, destination, dtype, properties_key)]
        self.assertEqual(len(found), 1, (location, self.read(base)))
        self.assertEqual((found[0]["vhost"], found[0]["routing_key"], found[0]["arguments"]),
                         (vhost, routing_key, arguments))
        # Delete: DeleteBinding with the key escaped again.
        self.assertEqual(self.accepted("DELETE", base + "/" + path_escape(properties_key))[0],
                         204)
        self.assertEqual(self.read(base), [])
        return properties_key

    def test_bindings_as_terraform_declares_reads_and_deletes_them(self):
        v = self.vhost("tf/bindings")
        for body_path, body in [
                ("exchanges/%s/tf-x" % v, '{"type":"topic","durable":true}'),
                ("exchanges/%s/tf-h" % v, '{"type":"headers","durable":true}'),
                ("exchanges/%s/tf-x2" % v, '{"type":"fanout","durable":true}'),
                ("queues/%s/tf-q" % v, '{"type":"","durable":true}')]:
            self.accepted("PUT", body_path, body)
        # properties_key is the routing key quoted as RabbitMQ quotes it; the
        # Location escapes it once more, so the provider's PathUnescape of
        # its last segment gives the listed key back.
        self.assertEqual(self.binding_round_trip(v, "tf/bindings", "tf-x", "tf-q", "queue",
                                                 "orders.#", {}), "orders.%23")
        # A key holding "/" and " ": still one segment of the Location.
        self.assertEqual(self.binding_round_trip(v, "tf/bindings", "tf-x", "tf-q", "queue",
                                                 "tf/orders key", {}), "tf%2Forders+key")
        self.binding_round_trip(v, "tf/bindings", "tf-h", "tf-q", "queue", "",
                                {"color": "red", "x-match": "any"})
        self.assertEqual(self.binding_round_trip(v, "tf/bindings", "tf-x", "tf-x2", "exchange",
                                                 "audit", {}), "audit")

    # -- PublishToExchange: PublishOptions (exchanges.go, properties omitempty).

    def test_publish_as_rabbit_hole_sends_it(self):
        v = self.vhost("tf-publish")
        self.accepted("PUT", "queues/%s/tf-pub" % v, '{"type":"","durable":false}')
        # With no properties (nil or empty), the field is left out: RabbitMQ
        # 3.13 reads the four keys as required (with_decode) and says 400;
        # so does Warren.
        status, data, _ = self.send("POST", "exchanges/%s/amq.default/publish" % v,
                                    '{"routing_key":"tf-pub","payload":"a \\u003c b",'
                                    '"payload_encoding":"string"}')
        self.assertEqual((status, data["error"]), (400, "bad_request"))
        self.assertIn("properties", data["reason"])
        status, data, _ = self.send("POST", "exchanges/%s/amq.default/publish" % v,
                                    '{"routing_key":"tf-pub","payload":"a \\u003c b",'
                                    '"payload_encoding":"string","properties":'
                                    '{"content_type":"text/plain"}}')
        self.assertEqual((status, data), (200, {"routed": True}))
        status, data, _ = self.send(
            "POST", "exchanges/%s/amq.default/publish" % v,
            '{"routing_key":"tf-pub","payload":"aGk=","payload_encoding":"base64",'
            '"properties":{"delivery_mode":2,"headers":{"n":1}}}')
        self.assertEqual((status, data), (200, {"routed": True}))
        got = self.api.ok("POST", "/api/queues/%s/tf-pub/get" % v,
                          {"count": 2, "ackmode": "ack_requeue_false", "encoding": "auto"})
        self.assertEqual([m["payload"] for m in got], ["a < b", "hi"])
        self.assertEqual(got[0]["properties"], {"content_type": "text/plain"})
        self.assertEqual(got[1]["properties"], {"delivery_mode": 2, "headers": {"n": 1}})

    # -- UploadDefinitions: ExportedDefinitions (definitions.go) holding
    #    UserInfo, VhostInfo (every field marshalled, rates and all, tags as one
    #    string, cluster_state null), PolicyDefinition maps (keys sorted),
    #    QueueInfo, ExchangeInfo and BindingInfo; nil lists with no omitempty
    #    (here none) would go as null.

    def test_definitions_as_rabbit_hole_uploads_them(self):
        digest = go_sha256_hash("defs")
        rates = '{"rate":0,"samples":null}'
        vhost = ('{"name":"tf-defs","description":"from definitions","tags":"a,b",'
                 '"default_queue_type":"classic","tracing":false,"messages":0,'
                 '"messages_details":%s,"messages_ready":0,"messages_ready_details":%s,'
                 '"messages_unacknowledged":0,"messages_unacknowledged_details":%s,'
                 '"recv_oct":0,"send_oct":0,"recv_cnt":0,"send_cnt":0,"send_pend":0,'
                 '"recv_oct_details":%s,"send_oct_details":%s,"cluster_state":null}'
                 % ((rates,) * 5))
        body = ('{"users":[{"name":"tf-defs-user","password_hash":"%s",'
                '"hashing_algorithm":"rabbit_password_hashing_sha256","tags":"management"}],'
                '"vhosts":[%s],'
                '"policies":[{"apply-to":"queues","definition":{"max-length":10},'
                '"name":"tf-defs-policy","pattern":"^tf-","priority":0,"vhost":"tf-defs"}],'
                '"queues":[{"name":"tf-defs-q","vhost":"tf-defs","durable":true,'
                '"auto_delete":false,"arguments":{"x-max-priority":5}}],'
                '"exchanges":[{"name":"tf-defs-x","vhost":"tf-defs","type":"direct",'
                '"durable":true,"auto_delete":false,"internal":false,"arguments":{}}],'
                '"bindings":[{"source":"tf-defs-x","vhost":"tf-defs","destination":"tf-defs-q",'
                '"destination_type":"queue","routing_key":"k","arguments":{}}]}'
                % (digest, vhost))
        self.addCleanup(self.send, "DELETE", "vhosts/tf-defs")
        self.addCleanup(self.send, "DELETE", "users/tf-defs-user")
        self.accepted("POST", "definitions", body)
        got = self.read("vhosts/tf-defs")
        self.assertEqual((got["description"], got["tags"], got["default_queue_type"]),
                         ("from definitions", ["a", "b"], "classic"))
        self.assertEqual(self.read("users/tf-defs-user")["tags"], ["management"])
        self.read("whoami", user="tf-defs-user", password="defs")
        policy = self.read("policies/tf-defs/tf-defs-policy")
        self.assertEqual((policy["pattern"], policy["definition"]), ("^tf-", {"max-length": 10}))
        queue = self.read("queues/tf-defs/tf-defs-q")
        # The vhost's default queue type goes into the queue's arguments, as
        # RabbitMQ 3.13's import does (augment_declare_args).
        self.assertEqual((queue["durable"], queue["arguments"]),
                         (True, {"x-max-priority": 5, "x-queue-type": "classic"}))
        self.assertEqual([(b["source"], b["routing_key"])
                          for b in self.read("bindings/tf-defs/e/tf-defs-x/q/tf-defs-q")],
                         [("tf-defs-x", "k")])
        # The export read back as rabbit-hole's ListDefinitions reads it.
        exported = self.read("definitions")
        self.assertIn("tf-defs", [x["name"] for x in exported["vhosts"]])
        self.assertIn("tf-defs-q", [x["name"] for x in exported["queues"]])

    # -- rabbitmq_federation_upstream and rabbitmq_shovel: RuntimeParameter with
    #    a FederationDefinition value (runtime_parameters.go, federation.go),
    #    ShovelDefinitionDTO (shovels.go). Refused as RabbitMQ refuses them with
    #    the plugins off; the provider's Read then finds nothing.

    def test_federation_upstream_and_shovel_are_refused_as_without_their_plugins(self):
        v = self.vhost("tf-plugins")
        upstream = ('{"name":"tf-up","vhost":"tf-plugins","component":"federation-upstream",'
                    '"value":{"uri":["amqp://remote.example"],"max-hops":1,'
                    '"prefetch-count":1000,"reconnect-delay":5,"ack-mode":"on-confirm",'
                    '"trust-user-id":false}}')
        shovel = ('{"value":{"dest-uri":["amqp://"],"src-uri":["amqp://"],'
                  '"ack-mode":"on-confirm","delete-after":"never","dest-protocol":"amqp091",'
                  '"dest-queue":"tf-dst","reconnect-delay":5,"src-prefetch-count":1000,'
                  '"src-protocol":"amqp091","src-queue":"tf-src"}}')
        for component, body in [("federation-upstream", upstream), ("shovel", shovel)]:
            with self.subTest(component=component):
                path = "parameters/%s/%s/tf-%s" % (component, v, component)
                status, data, _ = self.send("PUT", path, body)
                self.assertEqual((status, data), (400, {
                    "error": "bad_request",
                    "reason": "Validation failed\n\ncomponent %s not found\n" % component}))
                self.assertEqual(self.send("GET", path)[0], 404)
                self.assertEqual(self.read("parameters/%s/%s" % (component, v)), [])
                self.accepted("DELETE", path)

    # -- user limits: UserLimitsValues and UserLimitsInfo (user_limits.go).

    def test_user_limits_as_rabbit_hole_puts_reads_and_deletes_them(self):
        self.accepted("PUT", "users/rh-limited", '{"name":"","tags":"","password":"p"}')
        self.addCleanup(self.send, "DELETE", "users/rh-limited")
        # PutUserLimits: one PUT per limit, the limit's name not escaped.
        for name, value in (("max-connections", 10), ("max-channels", 20)):
            self.assertEqual(self.accepted("PUT", "user-limits/rh-limited/" + name,
                                           '{"value":%d}' % value)[0], 204)
        # GetUserLimits and GetAllUserLimits: []UserLimitsInfo, Value a map[string]int.
        want = {"user": "rh-limited", "value": {"max-connections": 10, "max-channels": 20}}
        self.assertEqual(self.read("user-limits/rh-limited"), [want])
        self.assertIn(want, self.read("user-limits"))
        for value in self.read("user-limits/rh-limited")[0]["value"].values():
            self.assertIs(type(value), int)
        # DeleteUserLimits: one DELETE per name.
        for name in ("max-connections", "max-channels"):
            self.accepted("DELETE", "user-limits/rh-limited/" + name)
        self.assertEqual(self.read("user-limits/rh-limited"), [])

    # -- cluster name and global parameters: ClusterName (cluster.go),
    #    GlobalRuntimeParameter (global_parameters.go).

    def test_cluster_name_and_a_global_parameter(self):
        before = self.read("cluster-name/")["name"]
        self.addCleanup(self.send, "PUT", "cluster-name", json.dumps({"name": before}))
        self.accepted("PUT", "cluster-name", '{"name":"tf-cluster"}')
        self.assertEqual(self.read("cluster-name/"), {"name": "tf-cluster"})
        self.accepted("PUT", "global-parameters/tf-setting",
                      '{"name":"tf-setting","value":{"limit":5,"owner":"tf"}}')
        self.addCleanup(self.send, "DELETE", "global-parameters/tf-setting")
        self.assertEqual(self.read("global-parameters/tf-setting"),
                         {"name": "tf-setting", "value": {"limit": 5, "owner": "tf"}})
        self.assertEqual(self.accepted("DELETE", "global-parameters/tf-setting")[0], 204)
        self.assertEqual(self.send("GET", "global-parameters/tf-setting")[0], 404)

    # -- rabbit-hole's listings with a trailing slash (ListUsers, ListPermissions,
    #    ListBindings, ListTopicPermissions) and its health checks
    #    (health_checks.go).

    def test_listings_with_a_trailing_slash_and_health_checks(self):
        self.assertIn("guest", [u["name"] for u in self.read("users/")])
        self.assertIn({"user": "guest", "vhost": "/", "configure": ".*", "write": ".*",
                       "read": ".*"}, self.read("permissions/"))
        self.assertIsInstance(self.read("bindings/"), list)
        for check in ["alarms", "local-alarms", "virtual-hosts", "node-is-quorum-critical",
                      "node-is-mirror-sync-critical", "protocol-listener/amqp"]:
            with self.subTest(check=check):
                self.assertEqual(self.read("health/checks/" + check)["status"], "ok")


if __name__ == "__main__":
    unittest.main()
