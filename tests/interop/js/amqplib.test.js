// amqplib (npm) against a broker started by tests/interop/harness.py, which
// passes AMQP_HOST / AMQP_PORT. Each test asserts one behaviour RabbitMQ
// clients rely on; run with `node --test`.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const amqp = require('amqplib');

const URL = `amqp://guest:guest@${process.env.AMQP_HOST || '127.0.0.1'}:${process.env.AMQP_PORT || 5672}`;
const TIMEOUT = 20000;

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out: ' + what)), TIMEOUT); }),
  ]).finally(() => clearTimeout(timer));
}

// Resolves with the error that closed `ch` (a channel or connection).
function closedWith(emitter) {
  return withTimeout(new Promise((resolve) => emitter.once('error', resolve)), 'close error');
}

async function connect() {
  const conn = await amqp.connect(URL);
  conn.on('error', () => {});
  return conn;
}

test('publisher confirms ack every publish', async () => {
  const conn = await connect();
  const ch = await conn.createConfirmChannel();
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  const acks = [];
  for (let i = 0; i < 100; i++) {
    acks.push(new Promise((resolve, reject) =>
      ch.sendToQueue(q, Buffer.from('m' + i), {}, (err) => (err ? reject(err) : resolve()))));
  }
  await withTimeout(Promise.all(acks), 'confirms');
  await ch.waitForConfirms();
  assert.strictEqual((await ch.checkQueue(q)).messageCount, 100);
  await conn.close();
});

test('manual ack with prefetch holds deliveries at the prefetch count', async () => {
  const conn = await connect();
  const ch = await conn.createChannel();
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(String(i)));
  await ch.prefetch(3);
  const got = [];
  let firstThree;
  const three = new Promise((resolve) => { firstThree = resolve; });
  await ch.consume(q, (msg) => {
    got.push(msg);
    if (got.length === 3) firstThree();
  }, { noAck: false });
  await withTimeout(three, 'three deliveries');
  // A round trip on the channel: anything the broker was going to send
  // before answering it has arrived by now.
  await ch.checkQueue(q);
  assert.strictEqual(got.length, 3, 'prefetch 3 must hold the fourth delivery');
  const more = new Promise((resolve) => {
    const check = () => (got.length === 4 ? resolve() : setImmediate(check));
    check();
  });
  ch.ack(got[0]);
  await withTimeout(more, 'fourth delivery after one ack');
  await ch.checkQueue(q);
  assert.strictEqual(got.length, 4);
  assert.deepStrictEqual(got.map((m) => m.content.toString()), ['0', '1', '2', '3']);
  await conn.close();
});

test('nack with requeue redelivers with the redelivered flag', async () => {
  const conn = await connect();
  const ch = await conn.createChannel();
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  ch.sendToQueue(q, Buffer.from('again'));
  const deliveries = [];
  const twice = new Promise((resolve) => {
    ch.consume(q, (msg) => {
      deliveries.push(msg.fields.redelivered);
      if (deliveries.length === 1) ch.nack(msg, false, true);
      else { ch.ack(msg); resolve(); }
    });
  });
  await withTimeout(twice, 'redelivery');
  assert.deepStrictEqual(deliveries, [false, true]);
  await conn.close();
});

test('per-queue TTL dead-letters into the DLX with x-death', async () => {
  const conn = await connect();
  const ch = await conn.createChannel();
  await ch.assertExchange('interop-dlx', 'fanout', { durable: false });
  const dead = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(dead, 'interop-dlx', '');
  const q = (await ch.assertQueue('', {
    exclusive: true,
    arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': 'interop-dlx' },
  })).queue;
  ch.publish('', q, Buffer.from('expiring'), { headers: { app: 'interop' } });
  const msg = await withTimeout(new Promise((resolve) => ch.consume(dead, resolve, { noAck: true })),
    'dead letter');
  assert.strictEqual(msg.content.toString(), 'expiring');
  assert.strictEqual(msg.fields.exchange, 'interop-dlx');
  const headers = msg.properties.headers;
  assert.strictEqual(headers.app, 'interop');
  const death = headers['x-death'];
  assert.strictEqual(death.length, 1);
  assert.strictEqual(death[0].reason, 'expired');
  assert.strictEqual(death[0].queue, q);
  assert.strictEqual(death[0].exchange, '');
  assert.deepStrictEqual(death[0]['routing-keys'], [q]);
  assert.strictEqual(Number(death[0].count), 1);
  assert.strictEqual(headers['x-first-death-reason'], 'expired');
  assert.strictEqual(headers['x-first-death-queue'], q);
  await conn.close();
});

test('basic.get answers get-ok then get-empty', async () => {
  const conn = await connect();
  const ch = await conn.createChannel();
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  ch.sendToQueue(q, Buffer.from('one'));
  ch.sendToQueue(q, Buffer.from('two'));
  const first = await ch.get(q, { noAck: true });
  assert.strictEqual(first.content.toString(), 'one');
  assert.strictEqual(first.fields.messageCount, 1);
  const second = await ch.get(q, { noAck: false });
  assert.strictEqual(second.content.toString(), 'two');
  ch.ack(second);
  assert.strictEqual(await ch.get(q), false);
  await conn.close();
});

test('mandatory publish to nowhere comes back as basic.return 312', async () => {
  const conn = await connect();
  const ch = await conn.createConfirmChannel();
  const returned = withTimeout(new Promise((resolve) => ch.once('return', resolve)), 'return');
  ch.publish('amq.direct', 'no-such-binding', Buffer.from('lost?'), { mandatory: true });
  const msg = await returned;
  assert.strictEqual(msg.fields.replyCode, 312);
  assert.strictEqual(msg.fields.replyText, 'NO_ROUTE');
  assert.strictEqual(msg.fields.routingKey, 'no-such-binding');
  assert.strictEqual(msg.content.toString(), 'lost?');
  await ch.waitForConfirms();
  await conn.close();
});

test('exclusive queue is locked to its connection and dies with it', async () => {
  const owner = await connect();
  const och = await owner.createChannel();
  await och.assertQueue('interop-exclusive', { exclusive: true });
  const other = await connect();
  const xch = await other.createChannel();
  const closed = closedWith(xch);
  xch.checkQueue('interop-exclusive').catch(() => {});
  const err = await closed;
  assert.strictEqual(err.code, 405);
  await owner.close();
  const ch = await other.createChannel();
  const gone = closedWith(ch);
  ch.checkQueue('interop-exclusive').catch(() => {});
  assert.strictEqual((await gone).code, 404);
  await other.close();
});

test('auto-delete queue goes away when its last consumer cancels', async () => {
  const conn = await connect();
  const ch = await conn.createChannel();
  await ch.assertQueue('interop-autodelete', { autoDelete: true });
  const { consumerTag } = await ch.consume('interop-autodelete', () => {});
  assert.strictEqual((await ch.checkQueue('interop-autodelete')).consumerCount, 1);
  await ch.cancel(consumerTag);
  // Deletion follows the cancel; poll with passive declares on fresh
  // channels until the broker says 404 (bounded by the test timeout).
  const deadline = Date.now() + TIMEOUT;
  let code;
  while (Date.now() < deadline) {
    const probe = await conn.createChannel();
    const closed = closedWith(probe);
    const ok = await probe.checkQueue('interop-autodelete').then(() => true, () => false);
    if (!ok) { code = (await closed).code; break; }
    await probe.close();
  }
  assert.strictEqual(code, 404);
  await conn.close();
});

async function expectChannelError(conn, action, code) {
  const ch = await conn.createChannel();
  const closed = closedWith(ch);
  action(ch).catch(() => {});
  const err = await closed;
  assert.strictEqual(err.code, code, err.message);
}

test('misuse gets RabbitMQ reply codes and the connection keeps working', async () => {
  const conn = await connect();
  const setup = await conn.createChannel();
  await setup.assertQueue('interop-args', { arguments: { 'x-message-ttl': 1000 } });
  await expectChannelError(conn,
    (ch) => ch.assertQueue('interop-args', { arguments: { 'x-message-ttl': 2000 } }), 406);
  await expectChannelError(conn, (ch) => ch.checkQueue('interop-missing'), 404);
  await expectChannelError(conn, async (ch) => {
    ch.publish('interop-no-exchange', 'k', Buffer.from('x'));
    await ch.checkQueue('interop-args');
  }, 404);
  await expectChannelError(conn, (ch) => ch.deleteExchange('amq.direct'), 403);
  await expectChannelError(conn, async (ch) => {
    ch.ack({ fields: { deliveryTag: 42 } });
    await ch.checkQueue('interop-args');
  }, 406);
  // Still usable after all those channel errors.
  const ch = await conn.createChannel();
  assert.strictEqual((await ch.checkQueue('interop-args')).queue, 'interop-args');
  await ch.deleteQueue('interop-args');
  await conn.close();
});

test('an unknown exchange type closes the connection with 503', async () => {
  const conn = await amqp.connect(URL);
  const closed = withTimeout(new Promise((resolve) => conn.once('error', resolve)), 'conn close');
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  ch.assertExchange('interop-bogus', 'x-no-such-type').catch(() => {});
  const err = await closed;
  assert.strictEqual(err.code, 503);
});
