// The publish and get-messages forms (queue and exchange pages share them).
import { api, seg } from './api.js';
import { action, h, kvList } from './dom.js';
import { field, form, keyValueRows, select, submit, text } from './forms.js';

// Publishes to `exchange` ('' is the default exchange); with fixedKey the
// routing key is the queue's name and is not asked for.
export function publishForm(vhost, exchange, fixedKey, after) {
  const headers = keyValueRows('Headers', 'x-origin');
  const payload = h('textarea', { name: 'payload', rows: 4, placeholder: 'Hello, Warren!' });
  const f = form(
    h('div.form-grid',
      fixedKey === undefined
        ? field('Routing key', text('routing_key'))
        : field('Routing key', text('routing_key', { value: fixedKey, readOnly: true }), 'Sent through the default exchange'),
      field('Delivery mode', select('delivery_mode', [['1', '1 – Non-persistent'], ['2', '2 – Persistent']], '2'))),
    headers, field('Payload', payload), submit('Publish message'));
  return action(f, async (data) => {
    const properties = { delivery_mode: Number(data.get('delivery_mode')) };
    const hdrs = headers.collect();
    if (Object.keys(hdrs).length) properties.headers = hdrs;
    const res = await api.post(`/exchanges/${seg(vhost)}/${seg(exchange || 'amq.default')}/publish`, {
      properties, routing_key: data.get('routing_key'), payload: data.get('payload'), payload_encoding: 'string',
    });
    if (res && res.routed === false) throw new Error('Message published, but not routed to any queue.');
    return 'Message published.';
  }, after);
}

const ACKMODES = [
  ['ack_requeue_true', 'Nack, requeue'], ['ack_requeue_false', 'Ack, remove from queue'],
  ['reject_requeue_true', 'Reject, requeue'], ['reject_requeue_false', 'Reject, do not requeue'],
];

function messageCard(m, i) {
  return h('article.message',
    h('header.message-head', h('strong', `Message ${i + 1}`),
      h('span.muted', `exchange “${m.exchange || '(AMQP default)'}”, routing key “${m.routing_key}”`),
      m.redelivered && h('span.pill.pill-warn', 'redelivered'),
      h('span.muted', `${m.message_count} left in queue`)),
    h('div.message-body',
      h('div', h('span.label', 'Properties'), kvList(m.properties)),
      h('div', h('span.label', `Payload (${m.payload_bytes} bytes, ${m.payload_encoding})`),
        h('pre.payload', m.payload))));
}

export function getMessagesForm(vhost, queue, after) {
  const results = h('div.messages#get-results');
  const f = form(
    h('div.form-grid',
      field('Ack mode', select('ackmode', ACKMODES, 'ack_requeue_true')),
      field('Encoding', select('encoding', [['auto', 'Auto string / base64'], ['base64', 'base64']], 'auto')),
      field('Messages', text('count', { value: '1', inputmode: 'numeric' })),
      field('Truncate at (bytes)', text('truncate', { value: '50000', inputmode: 'numeric' }))),
    submit('Get messages'));
  action(f, async (data) => {
    const msgs = await api.post(`/queues/${seg(vhost)}/${seg(queue)}/get`, {
      ackmode: data.get('ackmode'), encoding: data.get('encoding'),
      count: Number(data.get('count')) || 1, truncate: Number(data.get('truncate')) || 50000,
    });
    results.replaceChildren(...(msgs.length ? msgs.map(messageCard) : [h('div.empty', h('p.empty-title', 'Queue is empty'))]));
    return `${msgs.length} message${msgs.length === 1 ? '' : 's'} fetched.`;
  }, after);
  return h('div', f, results);
}
