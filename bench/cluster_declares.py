#!/usr/bin/python3
"""The client of bench/cluster.sh, the same code for Warren and RabbitMQ
(Debian's python3-pika):

  cluster_declares.py declares --port P --count N [--prefix PFX] [--check-port Q]
                              [--clients K]
      N queue.declares (durable, not exclusive, not auto-delete, names
      PFX00000...) on one connection and one channel, one after another, each
      waiting for its declare-ok. With --clients K, K connections (one thread
      each, all opened before the clock starts) declare N/K each at the same
      time, as clients reconnecting after a failover do. Prints one line of
      JSON: seconds, rate, p50/p99/max latency in ms, and the client's own CPU
      seconds. With --check-port, the last name is then looked up (passive
      declare) through that other node, retried for up to 10 s, to show the
      declares reached it.

  cluster_declares.py failover --kill PID --port P --log LOG... [--timeout S]
      kill -9 PID (the metadata leader), then measures from that moment: until
      one of LOG (the survivors' logs) names a new leader ("cluster: member N
      leads the metadata in term T" appended after the kill), and until a
      declare of a new queue through 127.0.0.1:P succeeds (a new connection
      per attempt; a refused or failed attempt is retried after 20 ms).
      Prints one line of JSON. Without --log (RabbitMQ) only the declare.

  cluster_declares.py declare --port P NAME...
      Declares each NAME (durable, not exclusive, not auto-delete) through
      127.0.0.1:P, as warren-perf --auto-delete false declares its queue.
"""
import argparse
import json
import os
import re
import signal
import sys
import threading
import time

import pika

LEADS = re.compile(rb"cluster: member (\d+) leads the metadata in term (\d+)")


def params(port):
    return pika.ConnectionParameters("127.0.0.1", port, connection_attempts=1,
                                     socket_timeout=10, heartbeat=0)


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))]


def declares(a):
    clients = max(1, a.clients)
    conns = [pika.BlockingConnection(params(a.port)) for _ in range(clients)]
    channels = [c.channel() for c in conns]
    lat = []
    errors = []

    def run(k):
        try:
            mine = []
            for i in range(k, a.count, clients):
                s = time.perf_counter()
                channels[k].queue_declare("%s%05d" % (a.prefix, i), durable=True,
                                          exclusive=False, auto_delete=False)
                mine.append(time.perf_counter() - s)
            lat.extend(mine)
        except Exception as e:  # reported below, failing the run
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    for c in conns:
        c.close()
    if errors:
        sys.exit("declares failed: %s" % errors[0])
    lat.sort()
    out = {"count": a.count, "clients": clients, "seconds": round(total, 3),
           "rate": round(a.count / total, 1),
           "p50_ms": round(percentile(lat, 50) * 1e3, 3),
           "p99_ms": round(percentile(lat, 99) * 1e3, 3),
           "max_ms": round(lat[-1] * 1e3, 3), "client_cpu_s": round(cpu, 2)}
    if a.check_port:
        last = "%s%05d" % (a.prefix, a.count - 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                c = pika.BlockingConnection(params(a.check_port))
                try:
                    c.channel().queue_declare(last, passive=True)
                    out["seen_on_other_node"] = True
                    break
                finally:
                    if c.is_open:
                        c.close()
            except pika.exceptions.AMQPError:
                if time.monotonic() > deadline:
                    out["seen_on_other_node"] = False
                    break
                time.sleep(0.05)
    print(json.dumps(out))


def failover(a):
    sizes = {log: os.path.getsize(log) for log in a.log}
    found = {}

    def watch():
        while "leader_s" not in found and time.monotonic() < deadline:
            for log in a.log:
                with open(log, "rb") as f:
                    f.seek(sizes[log])
                    m = LEADS.search(f.read())
                if m:
                    found["leader_s"] = time.monotonic() - killed
                    found["member"], found["term"] = int(m.group(1)), int(m.group(2))
                    return
            time.sleep(0.005)

    killed = time.monotonic()
    os.kill(a.kill, signal.SIGKILL)
    deadline = killed + a.timeout
    watcher = threading.Thread(target=watch, daemon=True)
    if a.log:
        watcher.start()
    attempts, last_error = 0, None
    while time.monotonic() < deadline:
        attempts += 1
        try:
            c = pika.BlockingConnection(params(a.port))
            try:
                c.channel().queue_declare("failover-%d" % attempts, durable=True)
                found["declare_s"] = time.monotonic() - killed
                break
            finally:
                if c.is_open:
                    c.close()
        except pika.exceptions.AMQPError as e:
            last_error = "%s %s" % (e.__class__.__name__, e)
            time.sleep(0.02)
    if a.log:
        watcher.join(max(0.0, deadline - time.monotonic()))
    out = {"leader_s": round(found["leader_s"], 3) if "leader_s" in found else None,
           "new_leader_member": found.get("member"), "new_leader_term": found.get("term"),
           "declare_s": round(found["declare_s"], 3) if "declare_s" in found else None,
           "declare_attempts": attempts}
    if "declare_s" not in found:
        out["last_error"] = last_error
    print(json.dumps(out))


def declare_some(a):
    conn = pika.BlockingConnection(params(a.port))
    ch = conn.channel()
    arguments = {"x-queue-type": "quorum"} if a.quorum else None
    for name in a.names:
        ch.queue_declare(name, durable=True, exclusive=False, auto_delete=False,
                         arguments=arguments)
    conn.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    d = sub.add_parser("declares")
    d.add_argument("--port", type=int, required=True)
    d.add_argument("--count", type=int, default=10000)
    d.add_argument("--prefix", default="decl-")
    d.add_argument("--check-port", type=int)
    d.add_argument("--clients", type=int, default=1)
    f = sub.add_parser("failover")
    f.add_argument("--kill", type=int, required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--log", nargs="*", default=[])
    f.add_argument("--timeout", type=float, default=30)
    o = sub.add_parser("declare")
    o.add_argument("--port", type=int, required=True)
    o.add_argument("--quorum", action="store_true", help="x-queue-type: quorum")
    o.add_argument("names", nargs="+")
    a = p.parse_args()
    {"declares": declares, "failover": failover, "declare": declare_some}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
