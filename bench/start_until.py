#!/usr/bin/python3
"""Starts a broker and times it until it serves, from the moment the process
is started:

  start_until.py --port P [--queue Q --count N] [--log FILE] [--timeout S] -- CMD ARGS...

Without --queue: until an AMQP connection to 127.0.0.1:P opens. With it: until
a passive queue.declare of Q (durable) answers message_count == N, which after
a restart is the time to recover N messages. Connection attempts are polled
every 50 ms. Prints "PID SECONDS"; CMD keeps running. Debian's python3-pika.
"""
import argparse
import subprocess
import sys
import time

import pika


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--queue")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--log", default="/dev/null")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    params = pika.ConnectionParameters("127.0.0.1", a.port, connection_attempts=1,
                                       socket_timeout=5, heartbeat=0)
    log = open(a.log, "ab")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    last = None
    while time.monotonic() - t0 < a.timeout:
        if proc.poll() is not None:
            sys.exit("%s exited with status %d before serving" % (cmd[0], proc.returncode))
        try:
            c = pika.BlockingConnection(params)
            try:
                if a.queue is None:
                    break
                last = c.channel().queue_declare(a.queue, durable=True,
                                                 passive=True).method.message_count
                if last == a.count:
                    break
            finally:
                c.close()
        except pika.exceptions.AMQPError:
            pass  # not listening yet, or the queue not recovered yet
        time.sleep(0.05)
    else:
        sys.exit("not served within %.0fs (last message_count %s)" % (a.timeout, last))
    print("%d %.2f" % (proc.pid, time.monotonic() - t0))


if __name__ == "__main__":
    main()
