#!/usr/bin/env bash
# Scraping many queues, side by side in one run: COUNT (10,000) durable
# queues imported as a definitions file into a Warren node read by
# warren-exporter and, when Debian's rabbitmq-server is installed, into a
# private RabbitMQ with its rabbitmq_prometheus plugin; then RUNS scrapes of
# each one's per-queue endpoint (/metrics/per-object on both), timed from
# request to the last byte. Prints the fastest and the median, the series
# count, and the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
: "${WARREN_CTL_BIN:?set WARREN_CTL_BIN to the warrenctl binary}"
: "${WARREN_EXPORTER_BIN:?set WARREN_EXPORTER_BIN to the warren-exporter binary}"
COUNT=${COUNT:-10000}
RUNS=${RUNS:-5}
WORK=$(mktemp -d)
chmod 755 "$WORK"  # rabbitmq-server runs as the rabbitmq user
source "$here/lib.sh"
exporter_pid=""
cleanup() { [ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null; stop_warren; stop_rabbit; rm -rf "$WORK"; }
trap cleanup EXIT

queue_definitions "$COUNT" "$WORK/defs.json"

# time_scrapes URL: RUNS scrapes; checks each has COUNT queue series; prints
# "fastest median series".
time_scrapes() {
  local url=$1 times=() series=0
  for _ in $(seq "$RUNS"); do
    local secs
    secs=$(curl -sf --noproxy '*' -o "$WORK/scrape.txt" -w '%{time_total}' "$url")
    series=$(grep -c '^rabbitmq_queue_messages_ready{' "$WORK/scrape.txt" || true)
    [ "$series" -eq "$COUNT" ] || { echo "$url: $series queue series, not $COUNT" >&2; return 1; }
    times+=("$secs")
  done
  printf '%s\n' "${times[@]}" | sort -n |
    awk -v s="$series" '{a[NR]=$1} END {printf "%.3f %.3f %d\n", a[1], a[int((NR+1)/2)], s}'
}

start_warren "$WORK/warren"
"$WARREN_CTL_BIN" -n "127.0.0.1:$WARREN_GRPC_PORT" import_definitions "$WORK/defs.json" >/dev/null
exporter_port=$(free_port)
"$WARREN_EXPORTER_BIN" --http-listen "127.0.0.1:$exporter_port" \
  --nodes "127.0.0.1:$WARREN_GRPC_PORT" 2>"$WORK/exporter.log" &
exporter_pid=$!
for _ in $(seq 100); do grep -q "http listening" "$WORK/exporter.log" && break; sleep 0.1; done
read -r w_fast w_median w_series < <(time_scrapes "http://127.0.0.1:$exporter_port/metrics/per-object")
kill "$exporter_pid"; wait "$exporter_pid" 2>/dev/null || true; exporter_pid=""
stop_warren

r_fast=- r_median=-
if have_rabbit; then
  rabbit_metrics=$(free_port)
  printf 'prometheus.tcp.ip = 127.0.0.1\nprometheus.tcp.port = %d\n' "$rabbit_metrics" >"$WORK/rabbitmq.conf"
  chmod 644 "$WORK/rabbitmq.conf"
  RABBIT_EXTRA_VARS=(RABBITMQ_CONFIG_FILE="$WORK/rabbitmq.conf")
  mkdir -p "$WORK/rmq"; echo '[rabbitmq_prometheus].' >"$WORK/rmq/plugins"
  start_rabbit
  rabbit_env rabbitmqctl -n "$RABBIT_NODE" import_definitions "$WORK/defs.json" >/dev/null
  read -r r_fast r_median _ < <(time_scrapes "http://127.0.0.1:$rabbit_metrics/metrics/per-object")
  stop_rabbit
else
  echo "rabbitmq-server is not installed: Warren's figures only"
fi

ratio() { [ "$2" = - ] && echo - || printf "%.3f" "$(echo "scale=4; $1 / $2" | bc)"; }
printf '\nscrape of %d queues (%d cores, %s)   | %8s | %8s | Warren/RabbitMQ\n' \
  "$COUNT" "$(nproc)" "$(date -u +%F)" warren rabbitmq
printf '%-40s | %8s | %8s | %s\n' "fastest of $RUNS scrapes, s" "$w_fast" "$r_fast" \
  "$(ratio "$w_fast" "$r_fast")"
printf '%-40s | %8s | %8s | %s\n' "median of $RUNS scrapes, s" "$w_median" "$r_median" \
  "$(ratio "$w_median" "$r_median")"
echo "(each scrape: $w_series series of rabbitmq_queue_messages_ready, among the others)"
