#!/usr/bin/env python3
"""Capacity checks for an AMQP 0-9-1 broker, standard library only.

  capacity.py connections --count 10000 --port P   N concurrent connections,
      each fully handshaken with a channel open; once all are open, each opens
      a second channel (proof it is still served), then all close cleanly.
  capacity.py channels --count 2000 --port P       one connection, N channels
      opened (pipelined), one round trip on each, then all closed.

Exits 0 only when every connection/channel succeeded. Speaks just enough raw
AMQP (spec 0-9-1 framing; connection/channel/exchange class methods).
"""
import argparse
import asyncio
import resource
import struct
import sys
import time

TIMEOUT = 60.0


class ProtocolError(Exception):
    pass


def frame(kind, channel, payload):
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"


def method(channel, cls, mth, args=b""):
    return frame(1, channel, struct.pack(">HH", cls, mth) + args)


def shortstr(s):
    return bytes([len(s)]) + s


def longstr(s):
    return struct.pack(">I", len(s)) + s


async def read_method(reader):
    """Next method frame as (channel, class, method, args); skips heartbeats."""
    while True:
        kind, channel, size = struct.unpack(">BHI", await reader.readexactly(7))
        payload = await reader.readexactly(size + 1)
        if payload[-1] != 0xCE:
            raise ProtocolError("bad frame end")
        if kind != 1:
            continue
        cls, mth = struct.unpack(">HH", payload[:4])
        if (cls, mth) in ((10, 50), (20, 40)):
            code = struct.unpack(">H", payload[4:6])[0]
            text = payload[7:7 + payload[6]].decode(errors="replace")
            raise ProtocolError("server closed %s: %d %s" %
                                ("connection" if cls == 10 else "channel %d" % channel, code, text))
        return channel, cls, mth, payload[4:-1]


async def expect(reader, want, channel=None):
    ch, cls, mth, args = await read_method(reader)
    if (cls, mth) != want or (channel is not None and ch != channel):
        raise ProtocolError("expected %s on channel %s, got %s on %d" % (want, channel, (cls, mth), ch))
    return args


async def handshake(host, port, user, password):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"AMQP\x00\x00\x09\x01")
    await expect(reader, (10, 10))
    response = b"\x00" + user.encode() + b"\x00" + password.encode()
    writer.write(method(0, 10, 11, longstr(b"") + shortstr(b"PLAIN") + longstr(response) +
                        shortstr(b"en_US")))
    channel_max, frame_max, _ = struct.unpack(">HIH", await expect(reader, (10, 30)))
    writer.write(method(0, 10, 31, struct.pack(">HIH", channel_max, frame_max, 0)) +
                 method(0, 10, 40, shortstr(b"/") + shortstr(b"") + b"\x00"))
    await expect(reader, (10, 41))
    return reader, writer, channel_max


async def close(reader, writer):
    writer.write(method(0, 10, 50, struct.pack(">H", 200) + shortstr(b"bye") +
                        struct.pack(">HH", 0, 0)))
    await expect(reader, (10, 51))
    writer.close()


async def open_channel(reader, writer, number):
    writer.write(method(number, 20, 10, shortstr(b"")))
    await expect(reader, (20, 11), number)


async def connections(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < args.count + 100:
        raise SystemExit("open-file hard limit %d is too small for %d connections" % (hard, args.count))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gate = asyncio.Semaphore(args.parallel)

    async def one():
        async with gate:
            reader, writer, _ = await handshake(args.host, args.port, args.user, args.password)
            await open_channel(reader, writer, 1)
            return reader, writer

    start = time.monotonic()
    results = await asyncio.gather(*[asyncio.wait_for(one(), TIMEOUT) for _ in range(args.count)],
                                   return_exceptions=True)
    opened = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, BaseException)]
    open_s = time.monotonic() - start
    alive = await asyncio.gather(
        *[asyncio.wait_for(open_channel(r, w, 2), TIMEOUT) for r, w in opened],
        return_exceptions=True)
    dead = [a for a in alive if isinstance(a, BaseException)]
    closed = await asyncio.gather(*[asyncio.wait_for(close(r, w), TIMEOUT) for r, w in opened],
                                  return_exceptions=True)
    close_failed = [c for c in closed if isinstance(c, BaseException)]
    print("connections: opened %d/%d in %.2fs, still served %d, closed cleanly %d" %
          (len(opened), args.count, open_s, len(opened) - len(dead), len(opened) - len(close_failed)))
    for err in (failed + dead + close_failed)[:5]:
        print("  error: %r" % err)
    return not failed and not dead and not close_failed


async def channels(args):
    reader, writer, channel_max = await handshake(args.host, args.port, args.user, args.password)
    if args.count > channel_max:
        raise SystemExit("%d channels exceed the negotiated channel-max %d" % (args.count, channel_max))
    start = time.monotonic()
    numbers = range(1, args.count + 1)
    for batch_start in range(0, args.count, args.parallel):
        batch = numbers[batch_start:batch_start + args.parallel]
        writer.write(b"".join(method(n, 20, 10, shortstr(b"")) for n in batch))
        seen = set()
        for _ in batch:
            ch, cls, mth, _ = await asyncio.wait_for(read_method(reader), TIMEOUT)
            if (cls, mth) != (20, 11) or ch in seen or ch not in batch:
                raise ProtocolError("unexpected %s on channel %d" % ((cls, mth), ch))
            seen.add(ch)
    # One round trip on every channel: a passive declare of amq.direct.
    declare = struct.pack(">H", 0) + shortstr(b"amq.direct") + shortstr(b"direct") + b"\x01" + longstr(b"")
    writer.write(b"".join(method(n, 40, 10, declare) for n in numbers))
    answered = set()
    for _ in numbers:
        ch, cls, mth, _ = await asyncio.wait_for(read_method(reader), TIMEOUT)
        if (cls, mth) != (40, 11):
            raise ProtocolError("unexpected %s on channel %d" % ((cls, mth), ch))
        answered.add(ch)
    closing = struct.pack(">H", 200) + shortstr(b"bye") + struct.pack(">HH", 0, 0)
    writer.write(b"".join(method(n, 20, 40, closing) for n in numbers))
    for _ in numbers:
        ch, cls, mth, _ = await asyncio.wait_for(read_method(reader), TIMEOUT)
        if (cls, mth) != (20, 41):
            raise ProtocolError("unexpected %s on channel %d" % ((cls, mth), ch))
    await close(reader, writer)
    print("channels: opened, used and closed %d channels on one connection in %.2fs" %
          (len(answered), time.monotonic() - start))
    return len(answered) == args.count


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["connections", "channels"])
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5672)
    p.add_argument("--user", default="guest")
    p.add_argument("--password", default="guest")
    p.add_argument("--parallel", type=int, default=200, help="handshakes / channel opens in flight")
    args = p.parse_args()
    run = connections if args.mode == "connections" else channels
    try:
        ok = asyncio.run(run(args))
    except (ProtocolError, OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
        print("%s: failed: %r" % (args.mode, e))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
