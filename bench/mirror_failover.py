"""The time from kill -9 of a mirrored queue's home to the first delivery from
its new home, as a consumer connected to another node sees it (bench/cluster.sh,
the same for Warren and RabbitMQ).

Publishes --preload persistent messages with confirms through --port, then
consumes them there (prefetch 1, each acked at once) until 20 came, kills
--kill (the home's process) and waits for a delivery: the first one more than
50 ms after the kill (what was in flight from the home on loopback is there by
then) counts. A consumer cancelled by the broker consumes again at once (and
"cancelled" says so). Prints one JSON object.
"""
import argparse
import json
import os
import signal
import sys
import time

import pika  # Debian's python3-pika


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--queue", required=True)
    p.add_argument("--kill", type=int, required=True)
    p.add_argument("--preload", type=int, default=2000)
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", a.port, "/", pika.PlainCredentials("guest", "guest"), heartbeat=0))
    ch = conn.channel()
    ch.confirm_delivery()
    for i in range(a.preload):
        ch.basic_publish("", a.queue, b"m%d" % i, pika.BasicProperties(delivery_mode=2))
    arrivals = []
    state = {"cancelled": False, "consume": True}

    def on_message(c, method, _props, _body):
        arrivals.append(time.monotonic())
        c.basic_ack(method.delivery_tag)

    def on_cancel(_frame):
        state["cancelled"] = state["consume"] = True

    ch.add_on_cancel_callback(on_cancel)
    ch.basic_qos(prefetch_count=1)
    deadline = time.monotonic() + a.timeout
    killed_at = None
    out = {"first_delivery_s": None}
    while time.monotonic() < deadline:
        if state["consume"]:
            state["consume"] = False
            ch.basic_consume(a.queue, on_message)
        conn.process_data_events(time_limit=0.01)
        if killed_at is None and len(arrivals) >= 20:
            killed_at = time.monotonic()
            os.kill(a.kill, signal.SIGKILL)
        if killed_at is not None and arrivals and arrivals[-1] > killed_at + 0.05:
            after = [t for t in arrivals if t > killed_at + 0.05]
            out["first_delivery_s"] = round(after[0] - killed_at, 3)
            break
    out["cancelled"] = state["cancelled"]
    out["consumed"] = len(arrivals)
    print(json.dumps(out))
    try:
        conn.close()
    except (pika.exceptions.AMQPError, OSError):
        pass


if __name__ == "__main__":
    sys.exit(main())
