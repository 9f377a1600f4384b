#!/usr/bin/python3
"""The side-by-side table of bench/perf.sh, and its JSON.

  perf_table.py --runs DIR --out FILE --scenarios "1 2 ..." --brokers "warren rabbitmq"
                [--meta KEY=VALUE ...]

DIR holds, per broker B and scenario N, B-N.meta (lines "key value": status,
rc, args, broker CPU clock ticks before/after, VmRSS before/after, warren-perf's
own user/system seconds from /usr/bin/time, ...) and B-N.json (warren-perf's
--json output). Prints the table, writes FILE, and exits 1 if any run failed.
Standard library only.
"""
import argparse
import json
import os
import sys

HIGHER, LOWER = "higher", "lower"
BROKERS = {"warren": "Warren", "rabbitmq": "RabbitMQ"}

# id -> (title, what the CPU figure is divided by, rows). A row is
# (metric label, key or function of the run record, which way is better).
SCENARIOS = {
    1: ("1 prod / 1 cons, 16 B, transient, auto-ack", "consumed",
        [("msg/s consumed", "consume_rate", HIGHER)]),
    2: ("1 / 1, 1 KiB, confirms (100), manual ack, prefetch 100", "consumed",
        [("msg/s consumed", "consume_rate", HIGHER)]),
    3: ("4 / 4, 1 KiB, persistent, durable queue, confirms", "consumed",
        [("msg/s consumed", "consume_rate", HIGHER)]),
    4: ("fanout, 1 prod -> 10 queues, a consumer each, 16 B", "consumed",
        [("msg/s consumed (all queues)", "consume_rate", HIGHER)]),
    5: ("topic, 10,000 bindings, 1 / 1, 16 B", "consumed",
        [("msg/s published", "publish_rate", HIGHER),
         ("msg/s consumed", "consume_rate", HIGHER)]),
    6: ("1,000 queues, a consumer each, 1,000 msg/s in all", "consumed",
        [("p50 latency us", lambda r: r["perf"]["latency_us"]["p50"], LOWER),
         ("p95 latency us", lambda r: r["perf"]["latency_us"]["p95"], LOWER),
         ("p99 latency us", lambda r: r["perf"]["latency_us"]["p99"], LOWER),
         ("msg/s consumed", "consume_rate", HIGHER)]),
    7: ("memory: 1 KiB messages queued, confirms (500)", "published",
        [("B/msg (RSS growth)", lambda r: r["bytes_per_msg"], LOWER),
         ("s to queue them", "seconds", LOWER),
         ("msg/s published", "publish_rate", HIGHER)]),
    8: ("connection churn, 4 producers, 1 confirmed msg each", "connections",
        [("conn/s", "connection_rate", HIGHER)]),
    9: ("TLS: 2 over AMQPS (1 / 1, 1 KiB, confirms, prefetch 100)", "consumed",
        [("msg/s consumed", "consume_rate", HIGHER)]),
    10: ("TLS: 8 over AMQPS, a full TLS handshake per connection", "connections",
         [("handshakes/s (TLS + AMQP + close)", "connection_rate", HIGHER)]),
}
# (TLS scenario, its plain TCP twin): the TLS ratio over the TCP ratio, the
# share of its lead over RabbitMQ Warren keeps under TLS (goal: 0.8 or more).
TLS_TWINS = ((9, 2, 0.8), (10, 8, None))


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            meta[key] = value
    return meta


def num(meta, key):
    try:
        return float(meta[key])
    except (KeyError, ValueError):
        return None


def record(runs, broker, sid):
    """One run as a dict; "status" is "ok" or why it failed."""
    base = os.path.join(runs, "%s-%d" % (broker, sid))
    if not os.path.exists(base + ".meta"):
        return {"status": "not run"}
    meta = read_meta(base + ".meta")
    rec = {"status": meta.get("status", "unknown"), "args": meta.get("args", "")}
    for key in ("start_seconds", "loadavg_before", "rc"):
        if num(meta, key) is not None:
            rec[key] = num(meta, key)
    try:
        with open(base + ".json") as f:
            rec["perf"] = json.load(f)
    except (OSError, ValueError) as e:
        if rec["status"] == "ok":
            rec["status"] = "no JSON from warren-perf (%s)" % e.__class__.__name__
        return rec
    perf = rec["perf"]
    count_key = SCENARIOS[sid][1]
    count = perf.get(count_key) or 0
    rec["count_for_cpu"] = {"what": count_key, "n": count}
    tck = num(meta, "clk_tck") or 100.0
    t0, t1 = num(meta, "ticks_before"), num(meta, "ticks_after")
    if t0 is not None and t1 is not None:
        rec["broker_cpu_s"] = round((t1 - t0) / tck, 3)
        if count:
            rec["broker_cpu_s_per_million"] = round(rec["broker_cpu_s"] / count * 1e6, 3)
    pu, ps = num(meta, "perf_user_s"), num(meta, "perf_sys_s")
    if pu is not None and ps is not None:
        rec["perf_cpu_s"] = round(pu + ps, 3)
        rec["perf_elapsed_s"] = num(meta, "perf_elapsed_s")
        rec["perf_max_rss_kib"] = num(meta, "perf_max_rss_kib")
        if count:
            rec["perf_cpu_s_per_million"] = round((pu + ps) / count * 1e6, 3)
    busy = num(meta, "machine_busy_ticks")
    if busy is not None and "broker_cpu_s" in rec and "perf_cpu_s" in rec:
        # CPU time the rest of the machine used during the run (0 when alone).
        rec["other_cpu_s"] = round(max(0.0, busy / tck - rec["broker_cpu_s"] - rec["perf_cpu_s"]), 2)
    for key in ("rss_before_kib", "rss_after_kib", "hwm_after_kib"):
        if num(meta, key) is not None:
            rec[key] = num(meta, key)
    if sid == 7 and "rss_before_kib" in rec and "rss_after_kib" in rec and perf.get("published"):
        rec["bytes_per_msg"] = round((rec["rss_after_kib"] - rec["rss_before_kib"]) * 1024
                                     / perf["published"], 1)
    if rec["status"] == "ok" and not count:
        rec["status"] = "warren-perf reported 0 %s" % count_key
    if rec["status"] == "ok" and sid == 7:
        want = num(meta, "expected_published")
        if want and perf.get("confirmed", 0) < want:
            rec["status"] = "only %d of %d confirmed" % (perf.get("confirmed", 0), want)
    return rec


def value(rec, key):
    if rec.get("status") != "ok":
        return None
    try:
        v = key(rec) if callable(key) else rec["perf"][key]
    except (KeyError, TypeError):
        return None
    return float(v) if v is not None else None


def fmt(v, label):
    if v is None:
        return "FAIL"
    if "B/msg" in label or label.startswith("s "):
        return "%.1f" % v
    return "{:,.0f}".format(v)


def fmt_cpu(rec):
    v = rec.get("broker_cpu_s_per_million")
    if rec.get("status") != "ok":
        return "-"
    return "-" if v is None else "%.2f" % v


def pct(after, before):
    """The TLS figure as a share of the TCP one."""
    return "%.0f%%" % (after / before * 100) if before else "-"


def tls_summary(scenarios):
    """For each TLS scenario run beside its TCP twin on both brokers: both
    brokers' figures and the ratio of the Warren/RabbitMQ ratios."""
    rows = {sc["id"]: sc["rows"][0] for sc in scenarios}
    out = []
    for tls, tcp, goal in TLS_TWINS:
        if tls not in rows or tcp not in rows:
            continue
        a, b = rows[tls], rows[tcp]
        if a.get("ratio") is None or not b.get("ratio"):
            continue
        out.append({"tls_scenario": tls, "tcp_scenario": tcp, "goal": goal,
                    "tls": {k: a.get(k) for k in ("warren", "rabbitmq", "ratio")},
                    "tcp": {k: b.get(k) for k in ("warren", "rabbitmq", "ratio")},
                    "ratio_of_ratios": round(a["ratio"] / b["ratio"], 3)})
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--scenarios", default="1 2 3 4 5 6 7 8")
    p.add_argument("--brokers", default="warren rabbitmq")
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE for the JSON header")
    a = p.parse_args()
    sids = [int(s) for s in a.scenarios.split()]
    brokers = a.brokers.split()
    header = dict(kv.split("=", 1) for kv in a.meta)

    doc = {"date": header.get("date"),
           "machine": {"nproc": int(header.get("nproc", 0)), "cpu_model": header.get("cpu_model"),
                       "mem_total_kib": int(header.get("mem_total_kib", 0))},
           "warren_commit": header.get("warren_commit"),
           "rabbitmq_version": header.get("rabbitmq_version"),
           "seconds_each": int(header.get("seconds_each", 0)),
           "ratio": "Warren/RabbitMQ where higher is better, RabbitMQ/Warren where lower is "
                    "better: above 1 means Warren did better",
           "cpu_per_million": "broker (and warren-perf) CPU seconds, user+system, per million "
                              "consumed messages (scenario 7: published; 8: connections)",
           "scenarios": []}
    failed = []
    table = []
    for sid in sids:
        title, _, rows = SCENARIOS[sid]
        recs = {b: record(a.runs, b, sid) for b in brokers}
        for b, r in recs.items():
            if r["status"] != "ok":
                failed.append("scenario %d on %s: %s" % (sid, BROKERS[b], r["status"]))
        out_rows = []
        for i, (label, key, better) in enumerate(rows):
            vals = {b: value(recs[b], key) for b in brokers}
            w, r = vals.get("warren"), vals.get("rabbitmq")
            ratio = None
            if w is not None and r is not None:
                if better == HIGHER and r > 0:
                    ratio = w / r
                elif better == LOWER and w > 0:
                    ratio = r / w
            out_rows.append({"metric": label, "better": better,
                             **{b: vals[b] for b in brokers},
                             "ratio": None if ratio is None else round(ratio, 3)})
            table.append(["%d. %s" % (sid, title) if i == 0 else "",
                          label + (" (lower better)" if better == LOWER else ""),
                          fmt(w, label) if "warren" in brokers else "-",
                          fmt(r, label) if "rabbitmq" in brokers else "-",
                          "-" if ratio is None else "%.2f" % ratio,
                          fmt_cpu(recs["warren"]) if i == 0 and "warren" in brokers else "",
                          fmt_cpu(recs["rabbitmq"]) if i == 0 and "rabbitmq" in brokers else ""])
        doc["scenarios"].append({"id": sid, "title": title, "rows": out_rows, "results": recs})
    doc["failed"] = failed
    doc["tls"] = tls_summary(doc["scenarios"])

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    heads = ["scenario", "metric", "Warren", "RabbitMQ", "ratio", "Warren CPU s/M", "RMQ CPU s/M"]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h)
              for i, h in enumerate(heads)]
    line = lambda cells: " | ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i])
                                    for i, c in enumerate(cells))
    print()
    print(line(heads))
    print("-+-".join("-" * w for w in widths))
    for row in table:
        print(line(row))
    print()
    print("ratio: above 1 means Warren did better (Warren/RabbitMQ for rates, "
          "RabbitMQ/Warren for latency, B/msg and seconds)")
    print("CPU s/M: the broker's user+system CPU seconds per million consumed messages "
          "(7: published; 8: connections)")
    perf_cpu = []
    for sc in doc["scenarios"]:
        got = [sc["results"][b].get("perf_cpu_s_per_million") for b in brokers]
        if any(v is not None for v in got):
            perf_cpu.append("%d: %s" % (sc["id"], " / ".join("-" if v is None else "%.2f" % v
                                                              for v in got)))
    if perf_cpu:
        print("warren-perf's own CPU s/M (%s): %s" % (" / ".join(BROKERS[b] + " run" for b in brokers),
                                                      ", ".join(perf_cpu)))
    others = [(sc["results"][b]["other_cpu_s"] / sc["results"][b]["perf_elapsed_s"], sc["id"], b)
              for sc in doc["scenarios"] for b in brokers
              if sc["results"][b].get("other_cpu_s") is not None
              and sc["results"][b].get("perf_elapsed_s")]
    if others:
        worst = max(others)
        print("CPU taken by other processes during a run: at most %.0f%% of one core "
              "(scenario %d, %s)%s" % (worst[0] * 100, worst[1], BROKERS[worst[2]],
                                       ": the figures are disturbed" if worst[0] > 0.25 else ""))
    for t in doc["tls"]:
        tcp, tls = t["tcp"], t["tls"]
        print("TLS %d vs TCP %d: Warren %s -> %s (%s), RabbitMQ %s -> %s (%s); ratio %.2f -> %.2f: "
              "ratio of ratios %.2f%s" % (
                  t["tls_scenario"], t["tcp_scenario"], fmt(tcp["warren"], ""),
                  fmt(tls["warren"], ""), pct(tls["warren"], tcp["warren"]),
                  fmt(tcp["rabbitmq"], ""), fmt(tls["rabbitmq"], ""),
                  pct(tls["rabbitmq"], tcp["rabbitmq"]), tcp["ratio"], tls["ratio"],
                  t["ratio_of_ratios"],
                  "" if t["goal"] is None else " (goal >= %.1f: %s)" % (
                      t["goal"], "met" if t["ratio_of_ratios"] >= t["goal"] else "NOT met")))
    for f in failed:
        print("FAIL: " + f)
    print("saved " + a.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
