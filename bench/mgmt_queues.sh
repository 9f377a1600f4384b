#!/usr/bin/env bash
# The management API over many queues, side by side in one run: COUNT
# (10,000) durable queues are imported as a definitions file into Warren
# (through warrenctl) and, when Debian's rabbitmq-server is installed, into a
# private RabbitMQ with rabbitmq_management on a free loopback port; then
# `GET /api/queues?page=1&page_size=100` is timed RUNS times against
# warren-mgmt in front of the node and against RabbitMQ's management
# listener (one client process, each request's wall time). Prints the
# fastest and the median of each, and the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${WARREN_NODE_BIN:?set WARREN_NODE_BIN to the warren-node binary}"
: "${WARREN_CTL_BIN:?set WARREN_CTL_BIN to the warrenctl binary}"
: "${WARREN_MGMT_BIN:?set WARREN_MGMT_BIN to the warren-mgmt binary}"
COUNT=${COUNT:-10000}
RUNS=${RUNS:-9}
WORK=$(mktemp -d)
chmod 755 "$WORK"  # rabbitmq-server runs as the rabbitmq user
source "$here/lib.sh"
MGMT_PID=""
cleanup() {
  [ -n "$MGMT_PID" ] && kill "$MGMT_PID" 2>/dev/null && wait "$MGMT_PID" 2>/dev/null
  stop_warren; stop_rabbit; rm -rf "$WORK"
}
trap cleanup EXIT

queue_definitions "$COUNT" "$WORK/defs.json"

# time_get PORT: GET /api/queues?page=1&page_size=100 RUNS times (after one
# untimed warm-up, which also waits up to 60 s for the listener); checks the
# page says COUNT queues in all; prints "fastest median" in seconds.
time_get() {
  /usr/bin/python3 - "$1" "$RUNS" "$COUNT" <<'PY'
import base64, json, sys, time, urllib.request
port, runs, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
url = "http://127.0.0.1:%d/api/queues?page=1&page_size=100" % port
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(url, headers={
    "Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
def get():
    with opener.open(req, timeout=120) as r:
        return json.loads(r.read())
deadline = time.monotonic() + 60
while True:
    try:
        page = get()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.2)
times = []
for _ in range(runs):
    t0 = time.monotonic()
    page = get()
    times.append(time.monotonic() - t0)
    if page["total_count"] != count or len(page["items"]) != 100:
        sys.exit("got %d of %d queues" % (page["total_count"], count))
times.sort()
print("%.4f %.4f" % (times[0], times[len(times) // 2]))
PY
}

start_warren "$WORK/warren"
"$WARREN_CTL_BIN" -n "127.0.0.1:$WARREN_GRPC_PORT" import_definitions "$WORK/defs.json" >/dev/null
"$WARREN_MGMT_BIN" --http-listen 127.0.0.1:0 --nodes "127.0.0.1:$WARREN_GRPC_PORT" \
  2>"$WORK/mgmt.log" &
MGMT_PID=$!
MGMT_PORT=""
for _ in $(seq 200); do
  MGMT_PORT=$(sed -n 's/.*http listening on [0-9.]*:\([0-9]*\).*/\1/p' "$WORK/mgmt.log")
  [ -n "$MGMT_PORT" ] && break
  sleep 0.05
done
[ -n "$MGMT_PORT" ] || { cat "$WORK/mgmt.log"; exit 1; }
read -r w_fast w_median < <(time_get "$MGMT_PORT")
kill "$MGMT_PID"; wait "$MGMT_PID" || true; MGMT_PID=""
stop_warren

r_fast=- r_median=- r_version=""
if have_rabbit; then
  RABBIT_HTTP_PORT=$(free_port)
  mkdir -p "$WORK/rmq"
  echo '[rabbitmq_management].' >"$WORK/rmq/plugins"
  printf 'management.tcp.port = %s\nmanagement.tcp.ip = 127.0.0.1\n' "$RABBIT_HTTP_PORT" \
    >"$WORK/rmq/rabbitmq.conf"
  chown -R rabbitmq:rabbitmq "$WORK/rmq"
  RABBIT_EXTRA_VARS=(RABBITMQ_CONFIG_FILE="$WORK/rmq/rabbitmq.conf")
  start_rabbit
  rabbit_env rabbitmqctl -n "$RABBIT_NODE" import_definitions "$WORK/defs.json" >/dev/null
  read -r r_fast r_median < <(time_get "$RABBIT_HTTP_PORT")
  r_version=" $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null)"
  stop_rabbit
else
  echo "rabbitmq-server is not installed: Warren's figures only"
fi

ratio() { [ "$2" = - ] && echo - || printf "%.3f" "$(echo "scale=4; $1 / $2" | bc)"; }
printf '\nGET /api/queues?page=1&page_size=100, %d queues (%d cores, %s, RabbitMQ%s)\n' \
  "$COUNT" "$(nproc)" "$(date -u +%F)" "$r_version"
printf '%-28s | %8s | %8s | Warren/RabbitMQ\n' "" warren rabbitmq
printf '%-28s | %8s | %8s | %s\n' "fastest of $RUNS requests, s" "$w_fast" "$r_fast" \
  "$(ratio "$w_fast" "$r_fast")"
printf '%-28s | %8s | %8s | %s\n' "median of $RUNS requests, s" "$w_median" "$r_median" \
  "$(ratio "$w_median" "$r_median")"
