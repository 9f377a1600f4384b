#!/usr/bin/env bash
# warren-balancer against Debian's haproxy (2.6), in one run, under the same
# configuration (the TOML and an equivalent haproxy.cfg are generated below:
# one listener, roundrobin, one server with a TCP check every 2 s, rise/fall
# 2, the tutorial's timeouts; haproxy with nbthread 1, as warren-balancer runs
# one event loop), in front of one warren-node on loopback. For each of
# "direct" (no balancer), warren-balancer and haproxy, with bench/java:
#   1. throughput: PAIRS publisher connections, each with a consumer
#      connection on its own queue, 1 KiB transient messages, at most 512
#      unconsumed per publisher, SECONDS_EACH seconds; consumed msgs/s;
#   2. latency: one connection, LAT_COUNT publish -> consume round trips in
#      turn; p50 and p99 in microseconds, and what the balancer adds to them.
# Prints a table and writes bench/results/balancer-<date>.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
: "${WARREN_BALANCER_BIN:?set WARREN_BALANCER_BIN to the warren-balancer binary}"
command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install haproxy)"; exit 1; }
SECONDS_EACH=${SECONDS_EACH:-10}
PAIRS=${PAIRS:-4}
LAT_COUNT=${LAT_COUNT:-5000}
WORK=$(mktemp -d)
source "$here/lib.sh"
LB_PID=""
# start_lb LOG CMD...: through start_until.py (until an AMQP connection through it opens).
start_lb() {
  local log=$1; shift
  LB_PID=$(/usr/bin/python3 "$here/start_until.py" --port "$LB_PORT" --timeout 20 --log "$log" -- "$@" |
           awk '{print $1}') || { tail -20 "$log"; return 1; }
}
stop_lb() {
  [ -n "$LB_PID" ] || return 0
  kill "$LB_PID" 2>/dev/null || true
  for _ in $(seq 200); do alive "$LB_PID" || break; sleep 0.05; done
  LB_PID=""
}
cleanup() { stop_lb; stop_warren; rm -rf "$WORK"; }
trap cleanup EXIT

jars=/usr/share/java/amqp-client.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
javac -d "$WORK/classes" -cp "$jars" "$here/java/BalancerBench.java"
bench() { java -cp "$WORK/classes:$jars" BalancerBench "$@"; }

start_warren "$WORK/data"
LB_PORT=$(free_port); STATS_PORT=$(free_port)

cat >"$WORK/balancer.toml" <<TOML
[global]
maxconn = 4096
[defaults]
timeout_connect = "5s"
timeout_client = "120s"
timeout_server = "120s"
retries = 3
[[listen]]
name = "rabbitmq_cluster"
bind = "127.0.0.1:$LB_PORT"
mode = "tcp"
balance = "roundrobin"
maxconn = 2000
[[listen.server]]
name = "node1"
address = "127.0.0.1:$WARREN_PORT"
check = "tcp"
inter = "2s"
rise = 2
fall = 2
[stats]
bind = "127.0.0.1:$STATS_PORT"
uri = "/rabbitmq_stats"
refresh = "5s"
TOML

cat >"$WORK/haproxy.cfg" <<CFG
global
    maxconn 4096
    nbthread 1
defaults
    mode tcp
    retries 3
    timeout connect 5s
    timeout client 120s
    timeout server 120s
listen rabbitmq_cluster
    bind 127.0.0.1:$LB_PORT
    balance roundrobin
    maxconn 2000
    server node1 127.0.0.1:$WARREN_PORT check inter 2s rise 2 fall 2
listen monitor
    bind 127.0.0.1:$STATS_PORT
    mode http
    stats enable
    stats uri /rabbitmq_stats
    stats refresh 5s
CFG

declare -A result
measure() {  # name port
  result[$1.throughput]=$(bench throughput "$2" "$PAIRS" "$SECONDS_EACH" 1024)
  read -r result[$1.p50_us] result[$1.p99_us] <<<"$(bench latency "$2" "$LAT_COUNT" 1024)"
}

measure direct "$WARREN_PORT"
start_lb "$WORK/balancer.log" "$WARREN_BALANCER_BIN" --config "$WORK/balancer.toml"
measure warren "$LB_PORT"; result[warren.rss_kib]=$(peak_rss "$LB_PID" | awk '{print $1}'); stop_lb
start_lb "$WORK/haproxy.log" haproxy -db -f "$WORK/haproxy.cfg"
measure haproxy "$LB_PORT"; result[haproxy.rss_kib]=$(peak_rss "$LB_PID" | awk '{print $1}'); stop_lb
haproxy_version=$(haproxy -v | head -1 | awk '{print $3}')

printf '\n%-44s | %9s | %15s | %9s\n' "balancer ($(nproc) cores, $(date -u +%F))" direct warren-balancer "haproxy $haproxy_version"
row() { printf '%-44s | %9s | %15s | %9s\n' "$1" "${result[direct.$2]:--}" "${result[warren.$2]}" "${result[haproxy.$2]}"; }
row "msgs/s, $PAIRS publishers + $PAIRS consumers, 1 KiB" throughput
row "round trip p50, us" p50_us
row "round trip p99, us" p99_us
row "peak RSS of the balancer, KiB" rss_kib
for b in warren haproxy; do
  result[$b.added_p50_us]=$(( result[$b.p50_us] - result[direct.p50_us] ))
  result[$b.added_p99_us]=$(( result[$b.p99_us] - result[direct.p99_us] ))
done
row "added to p50 by the balancer, us" added_p50_us
row "added to p99 by the balancer, us" added_p99_us

mkdir -p "$here/results"
out="$here/results/balancer-$(date -u +%Y%m%dT%H%M%S).json"
for k in "${!result[@]}"; do echo "$k ${result[$k]}"; done |
  /usr/bin/python3 -c '
import json, sys
out, version, commit, secs, pairs, count, cores = sys.argv[1:]
res = {}
for line in sys.stdin:
    key, value = line.split()
    who, metric = key.split(".", 1)
    res.setdefault(who, {})[metric] = int(value)
json.dump({"machine": {"cores": int(cores)}, "warren_commit": commit or None,
           "haproxy_version": version,
           "setup": {"seconds_each": int(secs), "pairs": int(pairs), "body_bytes": 1024,
                     "window_per_publisher": 512, "latency_round_trips": int(count),
                     "haproxy_nbthread": 1},
           "results": res}, open(out, "w"), indent=2)
' "$out" "$haproxy_version" "$(git -C "$here" rev-parse --short HEAD 2>/dev/null || true)" \
  "$SECONDS_EACH" "$PAIRS" "$LAT_COUNT" "$(nproc)"
echo "saved $out"
