"""warren-mgmt answers with every key RabbitMQ's management API has.

compat/rabbitmq-3.10-keys.json holds, per endpoint, the HTTP status and the
key paths of RabbitMQ's answers after the fixed workload of
compat/workload.py (recorded by compat/record.py, `make compat`). This test
runs the same workload against a warren-node and warren-mgmt, GETs the same
endpoints and fails listing, per endpoint, every key path RabbitMQ had that
Warren lacks. Warren may have more keys. A field with no meaning for Warren
still gets RabbitMQ's neutral value (0, "", [], null, false), so the only
paths let off are:
  - EXCLUDED: what Warren will not have, each with its reason;
  - PENDING: what waits on work under way, each with what it waits on. A
    PENDING path that Warren has fails the test too, so the list only
    shrinks, and always says exactly what is missing.
Every entry of both lists must match a path RabbitMQ recorded, so none
outlives its reason.

Entries are (endpoint pattern, path pattern, reason): the endpoint is a label
of Workload.endpoints() as an fnmatch pattern, the path a regular expression
matched against the whole key path.
"""
import fnmatch
import json
import os
import re
import sys
import unittest

import mgmt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "compat"))

import workload  # noqa: E402

KEYS_FILE = os.path.join(HERE, "compat", "rabbitmq-3.10-keys.json")

ITEM = r"(?:items\[\]\.)?"  # a queue's keys, in a listing or in a page's items

EXCLUDED = [
    ("feature-flags", ".*",
     "Warren has no feature flags (what it does is always on): its listing is empty"),
    ("extensions", "javascript",
     "the web UI's plugins' scripts: Warren's UI has no plugins, its listing is empty"),
    ("definitions/{vhost}", r"policies\[\]\.vhost",
     "RabbitMQ 3.13, which Warren follows, leaves the vhost out of a vhost's exported "
     "policies as out of its other objects"),
    ("nodes*", r"cluster_links\[\]\..*",
     "RabbitMQ's Erlang distribution links, in the recording those of its own rabbitmqctl; "
     "a lone Warren node has none (cluster_links: [])"),
]

# Nothing waits now; an entry added here must name what it waits on.
PENDING = []


def matches(entry, label, path):
    return fnmatch.fnmatchcase(label, entry[0]) and re.fullmatch(entry[1], path) is not None


def first(entries, label, path):
    return next((e for e in entries if matches(e, label, path)), None)


class KeysTest(mgmt.NodeAndMgmt):
    @classmethod
    def setUpClass(cls):
        with open(KEYS_FILE) as f:
            cls.rabbitmq = json.load(f)["endpoints"]
        super().setUpClass()
        try:
            with workload.Workload(cls.api, cls.broker.host, cls.broker.port) as w:
                w.wait_for_stats()
                node = cls.api.ok("GET", "/api/overview")["node"]
                cls.warren = w.record(node, cls.broker.port)
        except BaseException:
            super().tearDownClass()
            raise

    def test_every_endpoint_answers_as_rabbitmq_does(self):
        wrong = {label: "%d, RabbitMQ %d" % (self.warren[label]["status"], rec["status"])
                 for label, rec in self.rabbitmq.items()
                 if self.warren[label]["status"] != rec["status"]}
        self.assertEqual(wrong, {}, "HTTP status per endpoint")

    def test_no_key_rabbitmq_has_is_missing(self):
        missing = {}
        for label, rec in self.rabbitmq.items():
            have = set(self.warren[label]["keys"])
            lacks = [p for p in rec["keys"] if p not in have and not first(EXCLUDED, label, p)
                     and not first(PENDING, label, p)]
            if lacks:
                missing[label] = lacks
        self.assertEqual(missing, {}, "key paths RabbitMQ has and Warren lacks, per endpoint:\n"
                         + json.dumps(missing, indent=1))

    def test_pending_keys_are_still_missing(self):
        present = {}
        for label, rec in self.rabbitmq.items():
            have = set(self.warren[label]["keys"])
            done = ["%s (%s)" % (p, first(PENDING, label, p)[2]) for p in rec["keys"]
                    if p in have and first(PENDING, label, p)]
            if done:
                present[label] = done
        self.assertEqual(present, {}, "PENDING key paths Warren now has (narrow or drop their "
                         "entries):\n" + json.dumps(present, indent=1))

    def test_every_entry_matches_a_recorded_path(self):
        recorded = [(label, p) for label, rec in self.rabbitmq.items() for p in rec["keys"]]
        unused = [e for e in EXCLUDED + PENDING
                  if not any(matches(e, label, p) for label, p in recorded)]
        self.assertEqual(unused, [], "entries that match nothing RabbitMQ has")


if __name__ == "__main__":
    mgmt.harness.main()
