"""warren-perf against a live broker: counted runs must deliver exactly what
they promise, and failures must end the run with a clear line and status 2.

Run through the interop launcher, which starts the broker and sets AMQP_HOST
and AMQP_PORT:  harness.py run -- python3 test_perf.py CASE
WARREN_PERF_BIN is the warren-perf binary. Every run ends on its counts (-C,
-D), never on time, so nothing here sleeps or races a clock.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))

from harness import free_port  # noqa: E402

PERF = os.environ["WARREN_PERF_BIN"]
HOST = os.environ.get("AMQP_HOST", "127.0.0.1")
PORT = os.environ.get("AMQP_PORT", "5672")
URI = "amqp://guest:guest@%s:%s/%%2F" % (HOST, PORT)
RUN_TIMEOUT = 120


def perf(*args, uri=URI):
    """Runs warren-perf; returns (exit status, stdout, stderr, summary JSON or None)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "summary.json")
        proc = subprocess.run([PERF, "-h", uri, "--json", path] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
        summary = None
        if os.path.exists(path):
            with open(path) as f:
                summary = json.load(f)
    return proc.returncode, proc.stdout, proc.stderr, summary


def counted(*args, published, consumed, confirms=True, uri=URI):
    code, out, err, s = perf(*args, uri=uri)
    check(code == 0, "exit status %d\nstdout:\n%s\nstderr:\n%s" % (code, out, err))
    check(s is not None, "no JSON summary")
    print(json.dumps(s))
    check(s["published"] == published, "published %d, want %d" % (s["published"], published))
    if confirms:
        check(s["confirmed"] == published, "confirmed %d, want %d" % (s["confirmed"], published))
    check(s["nacked"] == 0 and s["returned"] == 0, "nacked/returned: %s" % s)
    check(s["consumed"] == consumed, "consumed %d, want %d" % (s["consumed"], consumed))
    lat = s["latency_us"]
    check(lat["max"] >= lat["p99"] >= lat["p95"] >= lat["p50"] > 0, "latency not ordered: %s" % lat)
    check(s["seconds"] > 0 and s["publish_rate"] > 0 and s["consume_rate"] > 0, "rates: %s" % s)
    return s


def check(ok, message):
    if not ok:
        raise AssertionError(message)


def case_confirms():
    # Two producers alternate between two queues: 10,000 to each queue from
    # each, so each queue's one consumer gets exactly 20,000.
    counted("-x", 2, "-y", 2, "-C", 20000, "-D", 20000, "-c", 100, "-q", 100,
            "--queue-pattern", "perf-confirms-%d", "--queue-pattern-from", 1,
            "--queue-pattern-to", 2, published=40000, consumed=40000)


def case_fanout():
    # Every message reaches all three queues; multi-ack every 10.
    counted("-e", "perf-fanout", "-t", "fanout", "-x", 1, "-y", 3, "-C", 5000, "-D", 5000,
            "-c", 50, "-q", 50, "-A", 10, "-f", "mandatory",
            "--queue-pattern", "perf-fanout-%d", "--queue-pattern-from", 1,
            "--queue-pattern-to", 3, published=5000, consumed=15000)


def case_topic():
    # perf.<j>.x matches exactly one of the ten patterns; mandatory makes an
    # unroutable message show up as "returned".
    counted("-e", "perf-topic", "-t", "topic", "--topic-bindings", 10, "-u", "perf-topic",
            "-x", 2, "-y", 1, "-C", 5000, "-D", 10000, "-c", 100, "-f", "mandatory",
            published=10000, consumed=10000)


def case_channels():
    # Four producers as channels of two connections, two event loops,
    # autoack consumers, a body larger than the minimum.
    counted("-x", 4, "-y", 2, "--channels-per-connection", 2, "--threads", 2, "-a", "-s", 1000,
            "-C", 5000, "-D", 10000, "--queue-pattern", "perf-channels-%d",
            "--queue-pattern-from", 1, "--queue-pattern-to", 2,
            published=20000, consumed=20000, confirms=False)


def case_churn():
    s = counted("--churn", "-x", 2, "-y", 1, "-C", 50, "-D", 100, "-u", "perf-churn",
                published=100, consumed=100)
    check(s["connections"] == 100, "connections %d, want 100" % s["connections"])
    check(s["connection_rate"] > 0, "connection_rate: %s" % s)


def case_errors():
    # Nothing listens on a port we just freed: one line, status 2, no summary.
    code, _, err, s = perf("-C", 1, uri="amqp://guest:guest@127.0.0.1:%d/%%2F" % free_port())
    check(code == 2 and "cannot connect" in err and "Connection refused" in err and s is None,
          "refused: status %d, stderr %r" % (code, err))
    code, _, err, _ = perf("-C", 1, uri="http://localhost/")
    check(code == 2 and "amqp://" in err, "bad URI: status %d, stderr %r" % (code, err))
    code, _, err, _ = perf("-C", 1, uri="amqp://guest:wrong@%s:%s/%%2F" % (HOST, PORT))
    check(code == 2 and "403" in err, "wrong password: status %d, stderr %r" % (code, err))
    # A queue redeclared with other flags: the server's channel.close (406)
    # is printed and the run fails.
    code, out, err, _ = perf("-u", "perf-flags", "--auto-delete", "false", "-y", 0, "-C", 1)
    check(code == 0, "declaring perf-flags: status %d, stderr %r" % (code, err))
    code, _, err, _ = perf("-u", "perf-flags", "--auto-delete", "true", "-y", 0, "-C", 1)
    check(code == 2 and "406" in err, "inequivalent redeclare: status %d, stderr %r" % (code, err))
    print("errors: ok")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: test_perf.py {%s}" % "|".join(sorted(CASES)), file=sys.stderr)
        sys.exit(2)
    try:
        CASES[sys.argv[1]]()
    except AssertionError as e:
        print("FAIL %s: %s" % (sys.argv[1], e), file=sys.stderr)
        sys.exit(1)
