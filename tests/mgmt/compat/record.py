"""Records the key paths of RabbitMQ's management API answers for the fixed
workload of workload.py, into the JSON file tests/mgmt/test_keys.py compares
Warren's answers with (`make compat`; docs/testing.md).

Starts a private instance of Debian's rabbitmq-server through the interop
harness (127.0.0.1, free ports, a temporary directory, its own epmd) with the
rabbitmq_management plugin on a free HTTP port and statistics collected every
500 ms (`collect_statistics_interval`, 5 s by default), runs the workload,
waits until the API shows its counts, GETs every endpoint of
Workload.endpoints() and writes, per endpoint, the HTTP status and the sorted
key paths of the answer: nested objects as dotted paths, lists of objects as
"key[].sub" unioned over their elements, a listing as the union over its
elements; maps keyed by data (workload.OPAQUE_KEYS: arguments,
client_properties, policy definitions, limits, socket options) only as their
own path. Then it stops RabbitMQ.

    /usr/bin/python3 tests/mgmt/compat/record.py [--bodies FILE] [OUTPUT]

OUTPUT defaults to tests/mgmt/compat/rabbitmq-MAJOR.MINOR-keys.json, MAJOR.MINOR
being the installed RabbitMQ's. --bodies also writes every answer whole to
FILE (not committed: it holds this run's names, ports and figures), which
shows the values behind the keys, e.g. RabbitMQ's value for an idle object.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/mgmt: mgmt.py (and the harness)

import mgmt  # noqa: E402
from mgmt import harness  # noqa: E402
import workload  # noqa: E402

STATS_INTERVAL_MS = 500
# Stats the recording waits for besides Workload.wait_for_stats()' own, so
# each of RabbitMQ's objects has emitted its figures once and the recorded
# keys do not depend on timing.
V = workload.q(workload.VHOST)
RABBITMQ_STATS = [
    ("/api/exchanges/%s/compat.direct" % V, "message_stats", "publish_out"),
    ("/api/vhosts/" + V, "message_stats", "publish"),
    ("/api/vhosts/" + V, "recv_oct"),
    ("/api/queues/%s/%s" % (V, workload.TRANSIENT), "message_stats", "get_no_ack"),
    ("/api/queues/%s/%s" % (V, workload.DURABLE), "consumer_details"),
    ("/api/nodes", "io_write_count"),
]


def installed_version():
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "rabbitmq-server"],
                          capture_output=True, text=True, check=True).stdout.strip()


def record(bodies=None):
    http_port = harness.free_port()
    conf = ("management.tcp.port = %d\nmanagement.tcp.ip = 127.0.0.1\n"
            "collect_statistics_interval = %d\n" % (http_port, STATS_INTERVAL_MS))
    broker = harness.Broker(definitions={"vhosts": [], "users": [], "permissions": []},
                            target="rabbitmq", rabbitmq_plugins=["rabbitmq_management"],
                            rabbitmq_conf=conf)
    with broker:
        api = mgmt.Client(http_port)
        overview = harness.wait_for(
            lambda: api.get("/api/overview")[0] == 200 and api.get("/api/overview")[1],
            "RabbitMQ's management API on port %d" % http_port, timeout=60)
        with workload.Workload(api, broker.host, broker.port) as w:
            w.wait_for_stats(extra=RABBITMQ_STATS)
            endpoints = w.record(overview["node"], broker.port, bodies)
            overview = api.get("/api/overview")[1]
    return {
        "recorded_by": "tests/mgmt/compat/record.py (make compat)",
        "rabbitmq_version": overview["rabbitmq_version"],
        "management_version": overview["management_version"],
        "debian_package": "rabbitmq-server " + installed_version(),
        "collect_statistics_interval_ms": STATS_INTERVAL_MS,
        "opaque_keys": sorted(workload.OPAQUE_KEYS),
        "endpoints": endpoints,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", help="also write every answer whole to this file")
    parser.add_argument("output", nargs="?", help="the key file to write")
    args = parser.parse_args()
    bodies = {} if args.bodies else None
    result = record(bodies)
    if args.bodies:
        with open(args.bodies, "w") as f:
            json.dump(bodies, f, indent=1)
    major_minor = ".".join(result["rabbitmq_version"].split(".")[:2])
    out = args.output or os.path.join(HERE, "rabbitmq-%s-keys.json" % major_minor)
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=False)
        f.write("\n")
    total = sum(len(e["keys"]) for e in result["endpoints"].values())
    print("%s: %d endpoints, %d key paths, RabbitMQ %s" % (
        out, len(result["endpoints"]), total, result["rabbitmq_version"]))


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        harness.print_logs()
        raise
