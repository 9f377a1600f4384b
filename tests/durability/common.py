"""Helpers shared by the durability tests: the interop harness, pika
connections to it, draining a queue, waiting for a log line, and sampling the
node's memory."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))

import pika  # noqa: E402  (Debian's python3-pika)

import harness  # noqa: E402,F401  (re-exported for the tests)

PERSISTENT = pika.BasicProperties(delivery_mode=2)
TRANSIENT = pika.BasicProperties(delivery_mode=1)


def connect(broker, **kwargs):
    kwargs.setdefault("heartbeat", 0)
    params = pika.ConnectionParameters(broker.host, broker.port, **kwargs)
    return pika.BlockingConnection(params)


def drain(channel, queue, timeout=5.0):
    """Every message now in `queue`, acked, as (body, properties, redelivered)."""
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((body, props, method.redelivered))
    raise AssertionError("%s still had messages after %.0fs" % (queue, timeout))


def wait_for_log(broker, text, timeout=10.0):
    """The node's log is read by the harness as it comes: wait for `text`."""
    harness.wait_for(lambda: text in broker.logs(), "the node to log %r" % text, timeout=timeout)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
