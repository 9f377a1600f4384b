// amqplib (npm, pinned in package.json) against a broker started by
// tests/interop/harness.py, which passes AMQP_URL (guest/guest, vhost "/").
// Each test asserts one behaviour RabbitMQ clients rely on. Run with
// `node --test` (see ../README.md); checked against RabbitMQ 3.10.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

if (!fs.existsSync(path.join(__dirname, 'node_modules', 'amqplib'))) {
  throw new Error(`${path.join(__dirname, 'node_modules')} has no amqplib: run ` +
    '`npm ci --prefix tests/interop/js` (make test does) before these tests');
}
const amqp = require('amqplib');

const URL = process.env.AMQP_URL ||
  `amqp://guest:guest@${process.env.AMQP_HOST || '127.0.0.1'}:${process.env.AMQP_PORT || 5672}`;
const WAIT = 10000;  // bound on any single wait for the broker
const T = { timeout: 30000 };  // per test

function within(promise, what, ms = WAIT) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A connection closed when the test ends, whatever happened.
async function connect(t) {
  const conn = await amqp.connect(URL);
  conn.on('error', () => {});  // asserted where expected, via closedWith()
  t.after(() => conn.close().catch(() => {}));
  return conn;
}

// Resolves with the error the broker closed `emitter` (channel or connection) with.
function closedWith(emitter, what = 'close') {
  return within(new Promise((resolve) => emitter.once('error', resolve)), what);
}

// Runs `action` on a fresh channel and expects the broker to close that
// channel with `code` and a reply text starting with `name` (RabbitMQ's
// "NAME - detail" form, which amqplib quotes in the error message).
async function expectChannelError(conn, action, code, name) {
  const ch = await conn.createChannel();
  const closed = closedWith(ch, `channel close ${code}`);
  action(ch).catch(() => {});
  const err = await closed;
  assert.strictEqual(err.code, code, err.message);
  assert.match(err.message, new RegExp(`with message "${name} - `), err.message);
  return err;
}

// After a channel error the connection must still serve a new channel.
async function assertConnectionUsable(conn) {
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  assert.strictEqual((await ch.checkQueue(queue)).queue, queue);
  await ch.close();
}

// Polls with passive declares on fresh channels (no sleeps: each probe is a
// round trip) until the queue is gone; resolves with the closing 404 error.
async function queueGone(conn, queue) {
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    const probe = await conn.createChannel();
    let onError;
    const closed = new Promise((resolve) => { onError = resolve; probe.once('error', onError); });
    if (await probe.checkQueue(queue).then(() => false, () => true)) {
      return within(closed, 'channel close after a failed passive declare');
    }
    probe.removeListener('error', onError);
    await probe.close();
  }
  throw new Error(`queue ${queue} still exists after ${WAIT} ms`);
}

test('publisher confirms: every publish is acked and waitForConfirms resolves', T, async (t) => {
  const conn = await connect(t);
  const ch = await conn.createConfirmChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  const acks = [];
  for (let i = 0; i < 100; i++) {
    acks.push(new Promise((resolve, reject) =>
      ch.sendToQueue(queue, Buffer.from('m' + i), {}, (err) => (err ? reject(err) : resolve()))));
  }
  await within(Promise.all(acks), '100 confirms');
  await within(ch.waitForConfirms(), 'waitForConfirms');
  assert.strictEqual((await ch.checkQueue(queue)).messageCount, 100);
});

test('manual ack with prefetch 3: exactly 3 unacked deliveries until an ack', T, async (t) => {
  const conn = await connect(t);
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  for (let i = 0; i < 10; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
  await ch.prefetch(3);
  const got = [];
  const waiters = [];
  const until = (n) => within(new Promise((resolve) => {
    if (got.length >= n) resolve(); else waiters.push([n, resolve]);
  }), `${n} deliveries`);
  await ch.consume(queue, (msg) => {
    got.push(msg);
    for (const [n, resolve] of waiters) if (got.length >= n) resolve();
  }, { noAck: false });
  await until(3);
  // A round trip on the same channel: a fourth delivery sent before the
  // declare-ok would have arrived first. The other 7 wait in the queue
  // (message-count counts ready messages, not unacked ones).
  assert.strictEqual((await ch.checkQueue(queue)).messageCount, 7);
  assert.strictEqual(got.length, 3, 'prefetch 3 must hold back the fourth delivery');
  ch.ack(got[0]);
  await until(4);
  assert.strictEqual((await ch.checkQueue(queue)).messageCount, 6);
  assert.strictEqual(got.length, 4, 'one ack frees exactly one delivery');
  assert.deepStrictEqual(got.map((m) => m.content.toString()), ['0', '1', '2', '3']);
});

test('nack with requeue redelivers the message with redelivered = true', T, async (t) => {
  const conn = await connect(t);
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('again'));
  const deliveries = [];
  const twice = new Promise((resolve) => {
    ch.consume(queue, (msg) => {
      deliveries.push([msg.content.toString(), msg.fields.redelivered]);
      if (deliveries.length === 1) ch.nack(msg, false, true);
      else { ch.ack(msg); resolve(); }
    });
  });
  await within(twice, 'redelivery after nack');
  assert.deepStrictEqual(deliveries, [['again', false], ['again', true]]);
});

test('per-queue TTL dead-letters to the DLX with x-death', T, async (t) => {
  const conn = await connect(t);
  const ch = await conn.createChannel();
  await ch.assertExchange('interop-dlx', 'fanout', { durable: false, autoDelete: true });
  const dead = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(dead, 'interop-dlx', '');
  const queue = (await ch.assertQueue('', {
    exclusive: true,
    arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': 'interop-dlx' },
  })).queue;
  ch.publish('', queue, Buffer.from('expiring'), { headers: { app: 'interop' } });
  const msg = await within(new Promise((resolve) => ch.consume(dead, resolve, { noAck: true })),
    'dead-lettered message');
  assert.strictEqual(msg.content.toString(), 'expiring');
  assert.strictEqual(msg.fields.exchange, 'interop-dlx');
  assert.strictEqual(msg.fields.routingKey, queue);  // no x-dead-letter-routing-key: kept
  const headers = msg.properties.headers;
  assert.strictEqual(headers.app, 'interop');
  const death = headers['x-death'];
  assert.strictEqual(death.length, 1);
  assert.strictEqual(Number(death[0].count), 1);
  assert.strictEqual(death[0].reason, 'expired');
  assert.strictEqual(death[0].queue, queue);
  assert.strictEqual(death[0].exchange, '');  // published to the default exchange
  assert.deepStrictEqual(death[0]['routing-keys'], [queue]);
  assert.ok(death[0].time, 'x-death carries the time of death');
  assert.strictEqual(headers['x-first-death-reason'], 'expired');
  assert.strictEqual(headers['x-first-death-queue'], queue);
  assert.strictEqual(headers['x-first-death-exchange'], '');
  // RabbitMQ 3.13 also adds x-last-death-{reason,queue,exchange}; 3.10
  // does not, so they are not asserted.
});

test('basic.get answers get-ok (with message count), then get-empty', T, async (t) => {
  const conn = await connect(t);
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('one'));
  ch.sendToQueue(queue, Buffer.from('two'));
  const first = await ch.get(queue, { noAck: true });
  assert.strictEqual(first.content.toString(), 'one');
  assert.strictEqual(first.fields.messageCount, 1);
  const second = await ch.get(queue, { noAck: false });
  assert.strictEqual(second.content.toString(), 'two');
  assert.strictEqual(second.fields.messageCount, 0);
  ch.ack(second);
  assert.strictEqual(await ch.get(queue), false);  // get-empty
});

test('mandatory publish with no route comes back as basic.return 312 NO_ROUTE', T, async (t) => {
  const conn = await connect(t);
  const ch = await conn.createConfirmChannel();
  const returned = within(new Promise((resolve) => ch.once('return', resolve)), 'basic.return');
  ch.publish('amq.direct', 'interop-no-binding', Buffer.from('lost?'), { mandatory: true });
  const msg = await returned;
  assert.strictEqual(msg.fields.replyCode, 312);
  assert.strictEqual(msg.fields.replyText, 'NO_ROUTE');
  assert.strictEqual(msg.fields.exchange, 'amq.direct');
  assert.strictEqual(msg.fields.routingKey, 'interop-no-binding');
  assert.strictEqual(msg.content.toString(), 'lost?');
  await within(ch.waitForConfirms(), 'confirm of the returned message');
});

test('exclusive queue: 405 RESOURCE_LOCKED for other connections, gone with its owner', T, async (t) => {
  const owner = await connect(t);
  const och = await owner.createChannel();
  await och.assertQueue('interop-exclusive', { exclusive: true });
  const other = await connect(t);
  await expectChannelError(other, (ch) => ch.checkQueue('interop-exclusive'), 405, 'RESOURCE_LOCKED');
  await expectChannelError(other, (ch) => ch.assertQueue('interop-exclusive', { exclusive: true }),
    405, 'RESOURCE_LOCKED');
  await expectChannelError(other, (ch) => ch.consume('interop-exclusive', () => {}),
    405, 'RESOURCE_LOCKED');
  // The owner still uses it meanwhile.
  assert.strictEqual((await och.checkQueue('interop-exclusive')).queue, 'interop-exclusive');
  await owner.close();
  const err = await queueGone(other, 'interop-exclusive');
  assert.strictEqual(err.code, 404);
  // The name is free again: the other connection can own it now.
  const ch = await other.createChannel();
  await ch.assertQueue('interop-exclusive', { exclusive: true });
});

test('auto-delete queue goes away when its last consumer cancels', T, async (t) => {
  const conn = await connect(t);
  const ch = await conn.createChannel();
  await ch.assertQueue('interop-autodelete', { autoDelete: true });
  const a = await ch.consume('interop-autodelete', () => {});
  const b = await ch.consume('interop-autodelete', () => {});
  assert.strictEqual((await ch.checkQueue('interop-autodelete')).consumerCount, 2);
  await ch.cancel(a.consumerTag);
  // One consumer left: the queue stays.
  assert.strictEqual((await ch.checkQueue('interop-autodelete')).consumerCount, 1);
  await ch.cancel(b.consumerTag);
  const err = await queueGone(conn, 'interop-autodelete');
  assert.strictEqual(err.code, 404);
});

test('redeclaring a queue with other arguments: 406 PRECONDITION_FAILED', T, async (t) => {
  const conn = await connect(t);
  const ch = await conn.createChannel();
  await ch.assertQueue('interop-args', { exclusive: true, arguments: { 'x-message-ttl': 1000 } });
  await expectChannelError(conn,
    (c) => c.assertQueue('interop-args', { exclusive: true, arguments: { 'x-message-ttl': 2000 } }),
    406, 'PRECONDITION_FAILED');
  await assertConnectionUsable(conn);
  // The first channel was not affected.
  assert.strictEqual((await ch.checkQueue('interop-args')).queue, 'interop-args');
});

test('passive declare of a missing queue: 404 NOT_FOUND', T, async (t) => {
  const conn = await connect(t);
  await expectChannelError(conn, (ch) => ch.checkQueue('interop-missing'), 404, 'NOT_FOUND');
  await assertConnectionUsable(conn);
});

test('publishing to a missing exchange: 404 NOT_FOUND', T, async (t) => {
  const conn = await connect(t);
  await expectChannelError(conn, async (ch) => {
    ch.publish('interop-no-exchange', 'k', Buffer.from('x'));
    await ch.assertQueue('', { exclusive: true });  // the close arrives instead of declare-ok
  }, 404, 'NOT_FOUND');
  await assertConnectionUsable(conn);
});

test('deleting amq.direct: 403 ACCESS_REFUSED', T, async (t) => {
  const conn = await connect(t);
  await expectChannelError(conn, (ch) => ch.deleteExchange('amq.direct'), 403, 'ACCESS_REFUSED');
  await assertConnectionUsable(conn);
  const ch = await conn.createChannel();
  await ch.checkExchange('amq.direct');  // still there
});

test('ack of an unknown delivery tag: 406 PRECONDITION_FAILED', T, async (t) => {
  const conn = await connect(t);
  await expectChannelError(conn, async (ch) => {
    ch.ack({ fields: { deliveryTag: 42 } });
    await ch.assertQueue('', { exclusive: true });
  }, 406, 'PRECONDITION_FAILED');
  await assertConnectionUsable(conn);
});

test('an unknown exchange type closes the connection with 503 COMMAND_INVALID', T, async (t) => {
  // RabbitMQ (3.10 and 3.13) makes this a connection error, not a channel one.
  const conn = await connect(t);
  const closed = closedWith(conn, 'connection close 503');
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  ch.assertExchange('interop-bogus', 'x-no-such-type').catch(() => {});
  const err = await closed;
  assert.strictEqual(err.code, 503);
  assert.match(err.message, /with message "COMMAND_INVALID - /, err.message);
  await assert.rejects(async () => conn.createChannel());  // the connection is gone
});

test('a burst of publishes then close: close-ok arrives, no EPIPE or reset', T, async () => {
  // amqplib writes each channel through its own buffer, so connection.close
  // (channel 0) can leave while publishes queued on channel 1 still follow
  // it. The broker answers close-ok and reads (and drops, as RabbitMQ does)
  // what follows until the client closes, instead of resetting the socket.
  const conn = await amqp.connect(URL);
  const errors = [];
  conn.on('error', (err) => errors.push(err));
  const ch = await conn.createChannel();
  const body = Buffer.alloc(16 * 1024, 'b');
  let buffered = 0;
  for (let i = 0; i < 1000; i++) {  // 16 MB: far more than the socket takes at once
    // No such queue: the broker drops each publish, so the burst costs no memory.
    if (!ch.sendToQueue('interop-burst-nowhere', body)) buffered++;
  }
  assert.ok(buffered > 0, 'the burst never filled the socket, so close did not follow it');
  // A reset shows as an 'error' (EPIPE, ECONNRESET) and close() never resolves.
  await within(conn.close(), 'connection.close-ok after the burst').catch((err) => {
    throw new Error(`${err.message}; connection errors: ${errors.map(String).join(', ')}`);
  });
  assert.deepStrictEqual(errors.map(String), []);
});
