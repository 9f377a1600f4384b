// amqplib over amqps:// against the node the Python test started: PLAIN
// with the test CA trusted, then EXTERNAL with a client certificate.
// Environment: AMQPS_PORT, TLS_CA_FILE, TLS_CLIENT_CERT, TLS_CLIENT_KEY.
// Prints one line per step; exits non-zero on the first failure.
'use strict';
const fs = require('fs');
const path = require('path');
const amqp = require(path.join(__dirname, '..', 'interop', 'js', 'node_modules', 'amqplib'));

async function roundTrip(url, options, queue) {
  const conn = await amqp.connect(url, options);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { autoDelete: true });
  await new Promise((resolve, reject) =>
    ch.sendToQueue(queue, Buffer.from('over tls'), {}, (err) => (err ? reject(err) : resolve())));
  const msg = await ch.get(queue, { noAck: true });
  await conn.close();
  if (!msg || msg.content.toString() !== 'over tls') throw new Error('no message back');
}

async function main() {
  const port = process.env.AMQPS_PORT;
  const ca = [fs.readFileSync(process.env.TLS_CA_FILE)];
  await roundTrip(`amqps://admin:123456@localhost:${port}`, { ca, servername: 'localhost' },
                  'amqplib-tls-plain');
  console.log('plain ok');
  await roundTrip(`amqps://localhost:${port}`, {
    ca,
    servername: 'localhost',
    cert: fs.readFileSync(process.env.TLS_CLIENT_CERT),
    key: fs.readFileSync(process.env.TLS_CLIENT_KEY),
    credentials: amqp.credentials.external(),
  }, 'amqplib-tls-external');
  console.log('external ok');
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
