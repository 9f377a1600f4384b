// One queue: its state and counts (refreshed), consumers and bindings, and
// the purge, delete, publish and get-messages actions.
import { api, seg } from '../api.js';
import { dangerButton, features, fmtBytes, fmtNum, h, kvList, link, live, mirrorList, pageHead, rate, section, statePill, table } from '../dom.js';
import { getMessagesForm, publishForm } from '../messages.js';

function summary(q) {
  const stat = (label, value) => h('div.stat', h('span.stat-value', value), h('span.stat-label', label));
  const id = `queue ${q.vhost} ${q.name}`;
  return h('div.detail',
    h('div.stats',
      stat('Ready', fmtNum(q.messages_ready)), stat('Unacked', fmtNum(q.messages_unacknowledged)),
      stat('Total', fmtNum(q.messages)), stat('Consumers', fmtNum(q.consumers)),
      stat('Incoming', rate(q.message_stats, 'publish', id)), stat('Deliver / get', rate(q.message_stats, 'deliver_get', id))),
    h('dl.props',
      h('dt', 'State'), h('dd', statePill(q.state)),
      h('dt', 'Features'), h('dd', features(q), !q.durable && 'transient'),
      h('dt', 'Policy'), h('dd', q.policy || h('span.muted', 'none')),
      h('dt', 'Node'), h('dd', q.node || '–'),
      h('dt', 'Mirrors'), h('dd', mirrorList(q)),
      h('dt', 'Memory'), h('dd', fmtBytes(q.memory)),
      h('dt', 'Arguments'), h('dd', kvList(q.arguments))));
}

function consumersTable(consumers) {
  return table([
    { title: 'Tag', value: (c) => c.consumer_tag },
    { title: 'Channel', value: (c) => c.channel_details?.name || '–' },
    { title: 'Ack required', value: (c) => (c.ack_required ? 'yes' : 'no') },
    { title: 'Exclusive', value: (c) => (c.exclusive ? 'yes' : 'no') },
    { title: 'Prefetch', num: true, value: (c) => fmtNum(c.prefetch_count) },
  ], consumers, ['No consumers', 'Nobody is consuming from this queue.']);
}

function bindingsTable(bindings) {
  return table([
    { title: 'From', value: (b) => (b.source ? link(`#/exchanges/${seg(b.vhost)}/${seg(b.source)}`, b.source) : '(AMQP default)') },
    { title: 'Routing key', value: (b) => h('code', b.routing_key) },
    { title: 'Arguments', value: (b) => kvList(b.arguments) },
  ], bindings, ['No bindings']);
}

export async function render(ctx) {
  const [vhost, name] = ctx.params;
  const path = `/queues/${seg(vhost)}/${seg(name)}`;
  const box = h('div#queue-summary');
  const consumersBox = h('div');
  ctx.root.append(pageHead(h('span', h('span.muted', 'Queue '), name), h('span.muted', `in virtual host ${vhost}`)),
    section('Details', box));
  const refresh = await live(ctx, box, 5000, async () => {
    const q = await api.get(path);
    consumersBox.replaceChildren(consumersTable(q.consumer_details || []));
    return summary(q);
  });
  const bindings = await api.get(`${path}/bindings`);
  ctx.root.append(
    h('div.two-col', section('Consumers', consumersBox), section('Bindings', bindingsTable(bindings))),
    section('Get messages', getMessagesForm(vhost, name, refresh)),
    section('Publish message', publishForm(vhost, '', name, refresh)),
    section('Purge or delete',
      h('div.actions',
        dangerButton('Purge messages', `Remove every ready message from ${name}?`, async () => {
          await api.del(`${path}/contents`);
          await refresh();
        }, { id: 'purge' }),
        dangerButton('Delete queue', `Delete queue ${name} and its messages?`, async () => {
          await api.del(path);
          location.hash = '#/queues';
        }, { id: 'delete-queue' }))));
}
