"""warrenctl against a real warren-node: every command, its info line, its
table and JSON output, and its errors with rabbitmqctl's exit statuses.

Env: WARREN_CTL_BIN (the warrenctl binary), WARREN_NODE_BIN (for the
harness). The node is started by tests/interop/harness.py; warrenctl reaches
it on Broker.grpc_port."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))

import pika  # noqa: E402  (Debian's python3-pika)

import harness  # noqa: E402

USAGE, DATAERR, NOUSER, UNAVAILABLE, SOFTWARE, TEMPFAIL, NOPERM, CONFIG = (
    64, 65, 67, 69, 70, 75, 77, 78)

# harness.DEFINITIONS plus a `monitoring` and a `management` user.
DEFINITIONS = {
    "vhosts": list(harness.DEFINITIONS["vhosts"]),
    "users": harness.DEFINITIONS["users"] + [
        {"name": "monitor", "password": "monitor", "tags": ["monitoring"]},
        {"name": "manager", "password": "manager", "tags": ["management"]},
    ],
    "permissions": harness.DEFINITIONS["permissions"] + [
        {"user": "manager", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
    ],
}


def warrenctl_bin():
    binary = os.environ.get("WARREN_CTL_BIN")
    if not binary or not os.access(binary, os.X_OK):
        raise RuntimeError("WARREN_CTL_BIN must name the warrenctl binary (got %r)" % binary)
    return binary


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARREN_")}
    env.update(extra)
    return env


class Ctl:
    """Runs warrenctl against one node and checks how it ended."""

    def __init__(self, test, node):
        self.test, self.node = test, node

    def run(self, *args, user=None, password=None, env=None, stdin=None, node=None):
        cmd = [warrenctl_bin()]
        if node is not False:
            cmd += ["-n", node or self.node]
        if user is not None:
            cmd += ["-u", user, "-p", password]
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60,
                              env=env if env is not None else clean_env(), input=stdin)

    def ok(self, *args, **kwargs):
        r = self.run(*args, **kwargs)
        self.test.assertEqual(r.returncode, 0, "warrenctl %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def lines(self, *args, **kwargs):
        return self.ok(*args, **kwargs).splitlines()

    def json(self, *args, **kwargs):
        return json.loads(self.ok(*(args + ("--formatter", "json")), **kwargs))

    def fails(self, code, pattern, *args, **kwargs):
        r = self.run(*args, **kwargs)
        self.test.assertEqual(r.returncode, code, "warrenctl %s: stdout %r stderr %r"
                              % (" ".join(args), r.stdout, r.stderr))
        self.test.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.test.assertTrue(r.stderr.startswith("Error: "), r.stderr)
        self.test.assertRegex(r.stderr, pattern)
        return r


class NodeTest(unittest.TestCase):
    """One node for the class; each test uses names of its own."""

    definitions = DEFINITIONS

    @classmethod
    def setUpClass(cls):
        cls.broker = harness.Broker(definitions=cls.definitions)
        cls.broker.__enter__()
        cls.node = "127.0.0.1:%d" % cls.broker.grpc_port

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def setUp(self):
        self.ctl = Ctl(self, self.node)

    def amqp(self, user="guest", password="guest", vhost="/"):
        c = pika.BlockingConnection(pika.ConnectionParameters(
            self.broker.host, self.broker.port, vhost,
            pika.PlainCredentials(user, password), heartbeat=0))
        self.addCleanup(lambda: c.is_open and c.close())
        return c


class TutorialTest(NodeTest):
    """Section 4.2 of the tutorial, verbatim, on a node without `admin`."""

    definitions = {k: v for k, v in harness.DEFINITIONS.items()}
    definitions["users"] = [u for u in harness.DEFINITIONS["users"] if u["name"] != "admin"]
    definitions["permissions"] = [p for p in harness.DEFINITIONS["permissions"]
                                  if p["user"] != "admin"]

    def test_tutorial_creates_an_administrator_who_can_log_in(self):
        self.assertNotIn("admin", [u["user"] for u in self.ctl.json("list_users")])
        self.assertEqual(self.ctl.lines("add_user", "admin", "123456")[0],
                         'Adding user "admin" ...')
        self.assertEqual(self.ctl.lines("set_user_tags", "admin", "administrator"),
                         ['Setting tags for user "admin" to [administrator] ...'])
        self.assertEqual(self.ctl.lines("set_permissions", "-p", "/", "admin", ".*", ".*", ".*"),
                         ['Setting permissions for user "admin" in vhost "/" ...'])
        out = self.ctl.lines("list_users")
        self.assertEqual(out[:2], ["Listing users ...", "user\ttags"])
        self.assertIn("admin\t[administrator]", out[2:])
        # The new administrator can use warrenctl and AMQP on "/".
        self.assertIn("admin\t.*\t.*\t.*",
                      self.ctl.lines("list_permissions", user="admin", password="123456"))
        self.assertTrue(self.amqp("admin", "123456").is_open)


class UserTest(NodeTest):
    def test_add_user_tags_and_list_users_in_table_and_json(self):
        out = self.ctl.lines("add_user", "u.tags", "pw")
        self.assertEqual(out[0], 'Adding user "u.tags" ...')
        self.assertIn("set_permissions", out[1])
        self.assertEqual(self.ctl.lines("set_user_tags", "u.tags", "monitoring", "management"),
                         ['Setting tags for user "u.tags" to [monitoring, management] ...'])
        self.assertIn("u.tags\t[monitoring, management]", self.ctl.lines("list_users"))
        users = self.ctl.json("list_users")
        self.assertIn({"user": "u.tags", "tags": ["monitoring", "management"]}, users)
        self.assertEqual(self.ctl.lines("set_user_tags", "u.tags"),
                         ['Setting tags for user "u.tags" to [] ...'])
        self.assertIn({"user": "u.tags", "tags": []}, self.ctl.json("list_users"))

    def test_quiet_drops_the_info_line_but_keeps_the_header(self):
        self.assertEqual(self.ctl.lines("-q", "list_users")[0], "user\ttags")
        out = self.ctl.lines("list_users", "-q", "--no-table-headers")
        self.assertIn("guest\t[administrator]", out)
        self.assertNotIn("user\ttags", out)
        self.assertNotIn("Listing users ...", out)

    def test_add_existing_user_is_an_error(self):
        self.ctl.fails(SOFTWARE, r"admin.*already exists", "add_user", "admin", "x")

    def test_delete_user(self):
        self.ctl.ok("add_user", "u.del", "pw")
        self.assertEqual(self.ctl.lines("delete_user", "u.del"), ['Deleting user "u.del" ...'])
        self.assertNotIn("u.del", [u["user"] for u in self.ctl.json("list_users")])

    def test_change_password_and_authenticate_user(self):
        self.ctl.ok("add_user", "u.pw", "old")
        self.assertEqual(self.ctl.lines("change_password", "u.pw", "new"),
                         ['Changing password for user "u.pw" ...'])
        self.assertEqual(self.ctl.lines("authenticate_user", "u.pw", "new"),
                         ['Authenticating user "u.pw" ...', "Success"])
        r = self.ctl.fails(DATAERR, r'failed to authenticate user "u.pw"',
                           "authenticate_user", "u.pw", "old")
        self.assertEqual(r.stderr.count("failed to authenticate"), 1, r.stderr)
        self.ctl.fails(DATAERR, r'failed to authenticate user "nosuch"',
                       "authenticate_user", "nosuch", "pw")

    def test_unknown_user_is_exit_67_naming_the_user(self):
        for args in (["delete_user", "nosuch"], ["change_password", "nosuch", "pw"],
                     ["set_user_tags", "nosuch", "administrator"],
                     ["set_permissions", "nosuch", ".*", ".*", ".*"]):
            with self.subTest(args=args):
                self.ctl.fails(NOUSER, r"nosuch", *args)


class VhostPermissionTest(NodeTest):
    def test_add_list_delete_vhost(self):
        self.assertEqual(self.ctl.lines("add_vhost", "v.one"), ['Adding vhost "v.one" ...'])
        out = self.ctl.lines("list_vhosts", "name", "messages", "queues")
        self.assertEqual(out[:2], ["Listing vhosts ...", "name\tmessages\tqueues"])
        self.assertIn("v.one\t0\t0", out)
        self.assertIn({"name": "v.one"}, self.ctl.json("list_vhosts"))
        self.ctl.fails(SOFTWARE, r"v.one", "add_vhost", "v.one")
        self.assertEqual(self.ctl.lines("delete_vhost", "v.one"), ['Deleting vhost "v.one" ...'])
        self.assertNotIn("v.one", self.ctl.lines("-q", "list_vhosts"))

    def test_unknown_vhost_is_a_data_error(self):
        self.ctl.fails(DATAERR, r"nosuch", "delete_vhost", "nosuch")
        self.ctl.fails(DATAERR, r"nosuch", "set_permissions", "-p", "nosuch", "limited",
                       ".*", ".*", ".*")
        self.ctl.fails(DATAERR, r"nosuch", "list_queues", "-p", "nosuch")

    def test_set_list_clear_permissions(self):
        self.ctl.ok("add_user", "u.perm", "pw")
        self.assertEqual(
            self.ctl.lines("set_permissions", "-p", "other", "u.perm", "^c", "^w", "^r"),
            ['Setting permissions for user "u.perm" in vhost "other" ...'])
        out = self.ctl.lines("list_permissions", "-p", "other")
        self.assertEqual(out[:2], ['Listing permissions for vhost "other" ...',
                                   "user\tconfigure\twrite\tread"])
        self.assertIn("u.perm\t^c\t^w\t^r", out)
        out = self.ctl.lines("list_user_permissions", "u.perm")
        self.assertEqual(out, ['Listing permissions for user "u.perm" ...',
                               "vhost\tconfigure\twrite\tread", "other\t^c\t^w\t^r"])
        self.assertEqual(self.ctl.json("list_user_permissions", "u.perm"),
                         [{"vhost": "other", "configure": "^c", "write": "^w", "read": "^r"}])
        self.assertEqual(self.ctl.lines("clear_permissions", "-p", "other", "u.perm"),
                         ['Clearing permissions for user "u.perm" in vhost "other" ...'])
        self.assertEqual(self.ctl.json("list_user_permissions", "u.perm"), [])

    def test_bad_regex_in_set_permissions(self):
        self.ctl.fails(DATAERR, r"\(", "set_permissions", "limited", "(", ".*", ".*")


class PolicyTest(NodeTest):
    def test_set_list_clear_policy(self):
        out = self.ctl.lines("set_policy", "--priority", "5", "--apply-to", "queues",
                             "ttl", r"^ttl\.", '{"message-ttl":60000}')
        self.assertEqual(out, ['Setting policy "ttl" for pattern "^ttl\\." to '
                               '"{"message-ttl":60000}" with priority "5" for vhost "/" ...'])
        out = self.ctl.lines("list_policies")
        self.assertEqual(out[:2], ['Listing policies for vhost "/" ...',
                                   "vhost\tname\tpattern\tapply-to\tdefinition\tpriority"])
        self.assertIn('/\tttl\t^ttl\\.\tqueues\t{"message-ttl":60000}\t5', out)
        self.assertIn({"vhost": "/", "name": "ttl", "pattern": r"^ttl\.", "apply-to": "queues",
                       "definition": {"message-ttl": 60000}, "priority": 5},
                      self.ctl.json("list_policies"))
        self.assertEqual(self.ctl.lines("clear_policy", "ttl"),
                         ['Clearing policy "ttl" on vhost "/" ...'])
        self.assertEqual(self.ctl.json("list_policies"), [])

    def test_policy_on_another_vhost(self):
        self.ctl.ok("set_policy", "-p", "other", "len", "^len", '{"max-length":10}')
        self.assertEqual([p["name"] for p in self.ctl.json("list_policies", "-p", "other")],
                         ["len"])
        self.assertNotIn("len", [p["name"] for p in self.ctl.json("list_policies")])
        self.ctl.ok("clear_policy", "-p", "other", "len")

    def test_bad_policies(self):
        self.ctl.fails(DATAERR, r"not valid JSON", "set_policy", "p", "^a", "{not json")
        self.ctl.fails(DATAERR, r"JSON object", "set_policy", "p", "^a", '["message-ttl"]')
        self.ctl.fails(DATAERR, r"deeper than 100", "set_policy", "p", "^a",
                       '{"x":' * 1000 + "1" + "}" * 1000)
        self.ctl.fails(DATAERR, r"no-such-key", "set_policy", "p", "^a", '{"no-such-key":1}')
        self.ctl.fails(DATAERR, r"\(", "set_policy", "p", "(", '{"message-ttl":1}')
        self.ctl.fails(DATAERR, r"nosuch", "set_policy", "-p", "nosuch", "p", "^a",
                       '{"message-ttl":1}')
        self.ctl.fails(USAGE, r"apply-to", "set_policy", "--apply-to", "topics", "p", "^a", "{}")
        self.ctl.fails(DATAERR, r"nosuch", "clear_policy", "nosuch")
        self.assertNotIn("p", [p["name"] for p in self.ctl.json("list_policies")])


class ListingTest(NodeTest):
    """Queues, exchanges, bindings, connections, channels and consumers made
    with pika, then listed."""

    def setUp(self):
        super().setUp()
        self.conn = self.amqp()
        ch = self.conn.channel()
        ch.confirm_delivery()
        ch.exchange_declare("l.x", "topic", durable=True)
        ch.queue_declare("l.q", durable=True, arguments={"x-max-length": 10})
        ch.queue_bind("l.q", "l.x", "a.#")
        for i in range(3):
            ch.basic_publish("l.x", "a.b", b"m%d" % i)
        ch.queue_declare("l.consumed")
        ch.basic_consume("l.consumed", lambda *a: None, consumer_tag="l.tag")
        self.ch = ch
        self.addCleanup(self.delete_queues)

    def delete_queues(self):
        for q in ("l.q", "l.consumed"):
            self.ctl.run("delete_queue", q)

    def test_list_queues_default_and_chosen_columns(self):
        out = self.ctl.lines("list_queues")
        self.assertEqual(out[:3], ["Timeout: 30.0 seconds ...", "Listing queues for vhost / ...",
                                   "name\tmessages"])
        self.assertIn("l.q\t3", out)
        out = self.ctl.lines("-q", "list_queues", "name", "durable", "arguments", "consumers")
        self.assertEqual(out[0], "name\tdurable\targuments\tconsumers")
        self.assertIn('l.q\ttrue\t[{"x-max-length",10}]\t0', out)
        self.assertIn("l.consumed\tfalse\t[]\t1", out)
        rows = self.ctl.json("list_queues", "name", "messages_ready", "arguments", "state")
        self.assertIn({"name": "l.q", "messages_ready": 3, "arguments": {"x-max-length": 10},
                       "state": "running"}, rows)

    def test_names_cannot_drive_the_terminal(self):
        # A client chooses names; an operator's terminal must not obey them.
        name = "l.\x1b]0;owned\x07\x1b[2J"
        self.ch.queue_declare(name)
        self.addCleanup(lambda: self.ctl.run("delete_queue", name))
        out = self.ctl.lines("-q", "list_queues", "name")
        self.assertIn("l.\\x1b]0;owned\\x07\\x1b[2J", out)
        self.assertFalse(any("\x1b" in line for line in out), out)
        # JSON keeps the name exact (escaped by JSON itself).
        self.assertIn(name, [q["name"] for q in self.ctl.json("list_queues", "name")])

    def test_unknown_column_is_a_usage_error_naming_it(self):
        for command, good in (("list_queues", "name"), ("list_exchanges", "name"),
                              ("list_bindings", "source_name"), ("list_connections", "user"),
                              ("list_channels", "pid"), ("list_consumers", "queue_name"),
                              ("list_vhosts", "name")):
            with self.subTest(command=command):
                r = self.ctl.fails(USAGE, r"bogus_column", command, good, "bogus_column")
                self.assertEqual(r.stdout, "")

    def test_list_exchanges_and_bindings(self):
        out = self.ctl.lines("list_exchanges")
        self.assertEqual(out[:2], ["Listing exchanges for vhost / ...", "name\ttype"])
        self.assertIn("l.x\ttopic", out)
        self.assertIn({"name": "l.x", "durable": True},
                      self.ctl.json("list_exchanges", "name", "durable"))
        out = self.ctl.lines("list_bindings")
        self.assertEqual(out[:2], ["Listing bindings for vhost /...",
                                   "source_name\tsource_kind\tdestination_name\t"
                                   "destination_kind\trouting_key\targuments"])
        self.assertIn("l.x\texchange\tl.q\tqueue\ta.#\t[]", out)

    def test_list_connections_channels_consumers(self):
        out = self.ctl.lines("list_connections")
        self.assertEqual(out[:2], ["Listing connections ...", "user\tpeer_host\tpeer_port\tstate"])
        self.assertTrue(any(re.fullmatch(r"guest\t127\.0\.0\.1\t\d+\trunning", l) for l in out),
                        out)
        conns = self.ctl.json("list_connections", "pid", "user", "vhost", "channels")
        self.assertIn("guest", [c["user"] for c in conns])
        out = self.ctl.lines("list_channels")
        self.assertEqual(out[:2], ["Listing channels ...",
                                   "pid\tuser\tconsumer_count\tmessages_unacknowledged"])
        self.assertTrue(any(re.fullmatch(r".+ \(1\)\tguest\t1\t0", l) for l in out), out)
        out = self.ctl.lines("list_consumers")
        self.assertEqual(out[:2], ["Listing consumers in vhost / ...",
                                   "queue_name\tchannel_pid\tconsumer_tag\tack_required\t"
                                   "prefetch_count\tactive\targuments"])
        consumers = self.ctl.json("list_consumers")
        mine = [c for c in consumers if c["consumer_tag"] == "l.tag"]
        self.assertEqual(len(mine), 1, consumers)
        self.assertEqual((mine[0]["queue_name"], mine[0]["ack_required"], mine[0]["active"]),
                         ("l.consumed", True, True))
        self.assertRegex(mine[0]["channel_pid"], r" \(1\)$")

    def test_purge_and_delete_queue(self):
        self.ctl.fails(DATAERR, r"(?i)empty", "delete_queue", "--if-empty", "l.q")
        self.ctl.fails(DATAERR, r"(?i)(unused|in use|consumer)", "delete_queue", "--if-unused",
                       "l.consumed")
        self.assertEqual(self.ctl.lines("purge_queue", "l.q"),
                         ["Purging queue 'l.q' in vhost '/' ..."])
        self.assertIn("l.q\t0", self.ctl.lines("list_queues"))
        self.assertEqual(self.ctl.lines("delete_queue", "--if-empty", "l.q"),
                         ["Deleting queue 'l.q' on vhost '/' if queue is empty ...",
                          "Queue was successfully deleted with 0 messages"])
        self.assertNotIn("l.q", [q["name"] for q in self.ctl.json("list_queues")])
        self.ctl.fails(DATAERR, r"l\.q", "purge_queue", "l.q")
        self.ctl.fails(DATAERR, r"l\.q", "delete_queue", "l.q")

    def test_queue_in_another_vhost(self):
        c = self.amqp("limited", "limited", "other")
        c.channel().queue_declare("l.other")
        self.assertIn("l.other\t0", self.ctl.lines("list_queues", "-p", "other"))
        self.assertNotIn("l.other", [q["name"] for q in self.ctl.json("list_queues")])
        self.assertEqual(self.ctl.lines("delete_queue", "-p", "other", "l.other")[0],
                         "Deleting queue 'l.other' on vhost 'other' ...")

    def test_close_connection(self):
        victim = self.amqp("limited", "limited", "other")
        names = [c["pid"] for c in self.ctl.json("list_connections", "pid", "user")
                 if c["user"] == "limited"]
        self.assertEqual(len(names), 1, names)
        self.assertEqual(self.ctl.lines("close_connection", names[0], "go away"),
                         ["Closing connection %s, reason: go away..." % names[0]])
        with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as e:
            victim.process_data_events(time_limit=30)
        self.assertIn("go away", e.exception.reply_text)
        self.ctl.fails(DATAERR, r"no-such-connection", "close_connection", "no-such-connection",
                       "x")


class NodeCommandTest(NodeTest):
    def test_status(self):
        out = self.ctl.ok("status")
        self.assertRegex(out, r"^Status of node \S+ \.\.\.\nRuntime\n")
        self.assertIn("port: %d, protocol: amqp" % self.broker.port, out)
        status = self.ctl.json("status")
        self.assertEqual(status["pid"], self.broker.proc.pid)
        ports = {l["protocol"]: l["port"] for l in status["listeners"]}
        self.assertEqual(ports, {"amqp": self.broker.port, "grpc": self.broker.grpc_port})

    def test_cluster_status_lists_this_node_alone(self):
        node = self.ctl.json("status")["node_name"]
        out = self.ctl.ok("cluster_status")
        self.assertTrue(out.startswith("Cluster status of node %s ...\nBasics\n" % node), out)
        self.assertIn("\nDisk Nodes\n\n%s\n" % node, out)
        self.assertIn("\nRunning Nodes\n\n%s\n" % node, out)
        status = self.ctl.json("cluster_status")
        self.assertEqual((status["running_nodes"], status["disk_nodes"]), ([node], [node]))


class HealthCheckTest(NodeTest):
    """rabbitmq-diagnostics' health checks: exit 0 and one line when they pass,
    69 when they fail, 75 when the node does not answer in time."""

    def test_every_check_passes_on_a_running_node(self):
        node = self.ctl.json("status")["node_name"]
        self.assertEqual(self.ctl.lines("ping")[-1], "Ping succeeded")
        self.assertEqual(self.ctl.ok("await_startup"), "")
        self.assertEqual(self.ctl.lines("check_running")[-1],
                         "Warren on node %s is fully booted and running" % node)
        self.assertEqual(self.ctl.lines("check_local_alarms")[-1],
                         "Node %s reported no local alarms" % node)
        self.assertEqual(self.ctl.lines("check_port_connectivity")[-1],
                         "Successfully connected to ports %s on node %s (using node hostname "
                         "resolution)" % (", ".join(str(p) for p in sorted(
                             [self.broker.port, self.broker.grpc_port])), node))
        self.assertEqual(self.ctl.lines("check_if_node_is_quorum_critical")[-1],
                         "Node %s seems to be the only one in a single node cluster, the check "
                         "does not apply" % node)

    def test_quiet_keeps_the_result_and_silent_leaves_only_the_exit_status(self):
        self.assertEqual(self.ctl.lines("-q", "check_running"), self.ctl.lines("check_running")[1:])
        for check in ("check_running", "check_local_alarms", "check_port_connectivity",
                      "check_if_node_is_quorum_critical", "ping"):
            self.assertEqual(self.ctl.ok("-s", check), "", check)
        self.ctl.ok("add_user", "silent-sam", "pw")
        users = self.ctl.lines("list_users", "--silent")
        self.assertIn("silent-sam\t[]", users)
        self.assertFalse(any(line.startswith(("Listing", "user\t")) for line in users), users)

    def test_a_listener_that_cannot_be_reached_fails_69_naming_it(self):
        # The node listens on 127.0.0.1 only: 127.0.0.2 refuses both ports.
        r = self.ctl.fails(UNAVAILABLE, r"port: %d, protocol: amqp.*refused" % self.broker.port,
                           "check_port_connectivity", "--address", "127.0.0.2")
        self.assertIn("Will connect to 127.0.0.2:%d" % self.broker.port, r.stdout)
        r = self.ctl.run("-s", "check_port_connectivity", "-a", "127.0.0.2")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (UNAVAILABLE, "", ""))

    def test_a_stopped_application_fails_check_running_and_await_startup_waits_for_start_app(self):
        node = self.ctl.json("status")["node_name"]
        self.ctl.ok("stop_app")
        self.addCleanup(lambda: self.ctl.run("start_app"))
        self.ctl.fails(UNAVAILABLE, r"Warren on node %s is not running" % re.escape(node),
                       "check_running")
        self.ctl.fails(TEMPFAIL, r"was not running within 1000 ms", "-t", "1", "await_startup")
        self.assertEqual(self.ctl.lines("ping")[-1], "Ping succeeded", "the process answers")
        waiting = subprocess.Popen([warrenctl_bin(), "-n", self.node, "-t", "30",
                                    "await_startup"], env=clean_env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: waiting.poll() is None and waiting.kill())
        self.ctl.ok("start_app")
        out, err = waiting.communicate(timeout=30)
        self.assertEqual((waiting.returncode, err), (0, ""))
        self.ctl.ok("check_running")


class AlarmTest(unittest.TestCase):
    """A node whose memory limit every process is past: the alarm is on."""

    def test_check_local_alarms_fails_69_naming_the_alarm(self):
        with harness.Broker(definitions=DEFINITIONS,
                            extra_config="[alarms]\nmemory_limit = 1\n") as broker:
            ctl = Ctl(self, "127.0.0.1:%d" % broker.grpc_port)
            node = ctl.json("status")["node_name"]
            ctl.fails(UNAVAILABLE, r"reported local alarms: Memory alarm on node %s$"
                      % re.escape(node), "check_local_alarms")
            r = ctl.run("--silent", "check_local_alarms")
            self.assertEqual((r.returncode, r.stdout, r.stderr), (UNAVAILABLE, "", ""))
            self.assertEqual(ctl.lines("check_running")[-1],
                             "Warren on node %s is fully booted and running" % node)


class DefinitionsTest(NodeTest):
    def test_export_to_stdout_and_file(self):
        r = self.ctl.run("export_definitions", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        defs = json.loads(r.stdout)
        self.assertIn("admin", [u["name"] for u in defs["users"]])
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "defs.json")
            self.assertEqual(self.ctl.lines("export_definitions", path),
                             ['Exporting definitions in JSON to a file at "%s" ...' % path])
            with open(path) as f:
                self.assertEqual(json.load(f)["users"], defs["users"])

    def test_import_from_file_and_stdin(self):
        # A user whose password hash is limited's: it logs in with "limited".
        exported = json.loads(self.ctl.ok("export_definitions", "-"))
        limited = [u for u in exported["users"] if u["name"] == "limited"][0]
        user = dict(limited, name="imported", tags=["monitoring"])
        defs = {"vhosts": [{"name": "imported.file"}], "users": [user]}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "defs.json")
            with open(path, "w") as f:
                json.dump(defs, f)
            self.assertEqual(self.ctl.lines("import_definitions", path)[0],
                             'Importing definitions in JSON from a file at "%s" ...' % path)
        self.assertIn({"user": "imported", "tags": ["monitoring"]}, self.ctl.json("list_users"))
        self.ctl.ok("authenticate_user", "imported", "limited")
        r = self.ctl.run("import_definitions", "-",
                         stdin=json.dumps({"vhosts": [{"name": "imported.stdin"}]}))
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
        names = [v["name"] for v in self.ctl.json("list_vhosts")]
        self.assertIn("imported.file", names)
        self.assertIn("imported.stdin", names)

    def test_import_rejects_what_is_not_a_json_object(self):
        self.ctl.fails(DATAERR, r"nested deeper than 100", "import_definitions", "-",
                       stdin='{"vhosts":' + "[" * 30000)
        self.ctl.fails(DATAERR, r"JSON", "import_definitions", "-", stdin="[1, 2]")
        self.ctl.fails(DATAERR, r"JSON", "import_definitions", "-", stdin="{nope")
        self.ctl.fails(DATAERR, r"/no/such/file", "import_definitions", "/no/such/file")


class AccessTest(NodeTest):
    def test_wrong_caller_password(self):
        self.ctl.fails(NOPERM, r".", "list_users", user="admin", password="wrong")

    def test_user_without_tags_may_do_nothing(self):
        for args in (["list_users"], ["list_queues"], ["status"], ["add_vhost", "v.no"]):
            with self.subTest(args=args):
                self.ctl.fails(NOPERM, r".", *args, user="limited", password="limited")

    def test_monitoring_reads_but_does_not_write(self):
        # As in RabbitMQ, listing users is for administrators only.
        self.ctl.fails(NOPERM, r"administrator", "list_users", user="monitor", password="monitor")
        self.assertIn("other", [v["name"] for v in
                                self.ctl.json("list_vhosts", user="monitor", password="monitor")])
        self.ctl.ok("list_queues", "-p", "other", user="monitor", password="monitor")
        self.ctl.ok("list_connections", user="monitor", password="monitor")
        self.ctl.ok("status", user="monitor", password="monitor")
        for args in (["add_user", "u.mon", "pw"], ["delete_user", "limited"],
                     ["set_policy", "p", "^a", '{"message-ttl":1}']):
            with self.subTest(args=args):
                self.ctl.fails(NOPERM, r".", *args, user="monitor", password="monitor")

    def test_management_reads_its_vhosts_but_manages_no_users(self):
        self.ctl.ok("list_queues", user="manager", password="manager")
        for args in (["add_user", "u.man", "pw"], ["add_vhost", "v.man"],
                     ["set_permissions", "manager", ".*", ".*", ".*"]):
            with self.subTest(args=args):
                self.ctl.fails(NOPERM, r".", *args, user="manager", password="manager")


class OptionsTest(NodeTest):
    def write_config(self, text):
        return harness.temp_file(self, text)

    def test_config_file_then_env_then_flags(self):
        good = self.write_config('node = "%s"\nusername = "admin"\npassword = "123456"\n'
                                 % self.node)
        self.ctl.ok("--config", good, "list_users", node=False)
        self.ctl.ok("list_users", node=False, env=clean_env(WARREN_CTL_CONFIG=good))
        bad = self.write_config('node = "%s"\nusername = "admin"\npassword = "wrong"\n'
                                % self.node)
        self.ctl.fails(NOPERM, r".", "--config", bad, "list_users", node=False)
        env = clean_env(WARREN_PASSWORD="123456")
        self.ctl.ok("--config", bad, "list_users", node=False, env=env)
        self.ctl.fails(NOPERM, r".", "--config", bad, "-p", "wrong-again", "list_users",
                       node=False, env=env)
        self.ctl.ok("list_users", node=False,
                    env=clean_env(WARREN_NODE=self.node, WARREN_USERNAME="admin",
                                  WARREN_PASSWORD="123456"))

    def test_bad_config_file(self):
        path = self.write_config('node = "%s"\nvhost = "/"\n' % self.node)
        self.ctl.fails(CONFIG, r'unknown key "vhost"', "--config", path, "list_users")
        path = self.write_config("username = 5\n")
        self.ctl.fails(CONFIG, r'"username" must be a string', "--config", path, "list_users")
        self.ctl.fails(CONFIG, r"/no/such\.toml", "--config", "/no/such.toml", "list_users")

    def test_formatter_before_or_after_the_command(self):
        before = json.loads(self.ctl.ok("--formatter", "json", "list_vhosts"))
        self.assertEqual(before, self.ctl.json("list_vhosts"))
        self.assertIn({"name": "/"}, before)
        self.ctl.fails(USAGE, r"formatter", "list_vhosts", "--formatter", "xml")

    def test_help_version_and_usage_errors(self):
        self.assertIn("username", self.ctl.ok("help", "add_user"))
        self.assertIn("username", self.ctl.ok("add_user", "--help"))
        self.assertIn("set_permissions", self.ctl.ok("--help"))
        self.assertRegex(self.ctl.ok("--version"), r"^warrenctl \d+\.\d+\.\d+\n$")
        self.ctl.fails(USAGE, r"nosuch", "help", "nosuch")
        self.ctl.fails(USAGE, r"password", "add_user", "only-a-name")
        self.ctl.fails(USAGE, r"extra", "delete_user", "a", "extra")
        self.ctl.fails(USAGE, r"no_such_command", "no_such_command")
        r = self.ctl.run()
        self.assertEqual(r.returncode, USAGE)


class UnreachableTest(unittest.TestCase):
    """No node needed: a port nobody listens on, and one that never answers."""

    def setUp(self):
        self.ctl = Ctl(self, None)

    def test_refused_connection_is_exit_69_naming_the_node(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
            node = "127.0.0.1:%d" % s.getsockname()[1]
            self.ctl.fails(UNAVAILABLE, re.escape(node), "list_users", node=node)

    def test_ping_and_await_startup_of_a_node_that_is_not_there(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
            node = "127.0.0.1:%d" % s.getsockname()[1]
            self.ctl.fails(UNAVAILABLE, r"Failed to connect and authenticate to %s in 30000 ms"
                           % re.escape(node), "ping", node=node)
            self.ctl.fails(TEMPFAIL, re.escape(node) + r" was not running within 1000 ms",
                           "--timeout", "1", "await_startup", node=node)

    def test_silent_node_is_exit_75_after_the_timeout(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)  # the kernel accepts; nothing ever answers
            node = "127.0.0.1:%d" % s.getsockname()[1]
            self.ctl.fails(TEMPFAIL, re.escape(node) + r".*unreachable", "--timeout", "1",
                           "list_users", node=node)


if __name__ == "__main__":
    harness.main()
