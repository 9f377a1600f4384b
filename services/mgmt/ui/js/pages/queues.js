// Queues: every queue with its counts and rates, and the form to declare one.
import { api, seg } from '../api.js';
import { action, features, fmtNum, h, link, queueNode, rate, statePill, table } from '../dom.js';
import { checkbox, field, form, keyValueRows, submit, text, vhostSelect } from '../forms.js';
import { declared, durabilityField, listWithForm } from '../list-page.js';

const qid = (q) => `queue ${q.vhost} ${q.name}`;
export const queueHref = (q) => `#/queues/${seg(q.vhost)}/${seg(q.name)}`;

function queuesTable(queues) {
  // As RabbitMQ's UI: the node a queue lives on, once queues live on more than one.
  const clustered = new Set(queues.map((q) => q.node)).size > 1;
  return table([
    { title: 'Virtual host', value: (q) => q.vhost },
    { title: 'Name', value: (q) => link(queueHref(q), q.name) },
    ...(clustered ? [{ title: 'Node', value: queueNode }] : []),
    { title: 'Features', value: features },
    { title: 'State', value: (q) => statePill(q.state) },
    { title: 'Ready', num: true, value: (q) => fmtNum(q.messages_ready) },
    { title: 'Unacked', num: true, value: (q) => fmtNum(q.messages_unacknowledged) },
    { title: 'Total', num: true, value: (q) => fmtNum(q.messages) },
    { title: 'Incoming', num: true, value: (q) => rate(q.message_stats, 'publish', qid(q)) },
    { title: 'Deliver / get', num: true, value: (q) => rate(q.message_stats, 'deliver_get', qid(q)) },
    { title: 'Ack', num: true, value: (q) => rate(q.message_stats, 'ack', qid(q)) },
    { title: 'Consumers', num: true, value: (q) => fmtNum(q.consumers) },
  ], queues, ['No queues yet', 'Declare one below, or let a client declare it.']);
}

function addQueueForm(vhosts, refresh) {
  const args = keyValueRows('Arguments');
  const f = form(
    h('div.form-grid',
      vhostSelect(vhosts),
      field('Name', text('name', { required: true, placeholder: 'orders' })),
      durabilityField(),
      checkbox('auto_delete', 'Auto-delete when the last consumer goes')),
    args, submit('Add queue'));
  return action(f, async (data) => {
    const { name, durable, auto_delete } = declared(data, 'A queue');
    await api.put(`/queues/${seg(data.get('vhost'))}/${seg(name)}`, { durable, auto_delete, arguments: args.collect() });
    return `Queue ${name} declared.`;
  }, refresh);
}

export function render(ctx) {
  return listWithForm(ctx, { title: 'Queues', id: 'queues-table', path: '/queues', table: queuesTable,
    formTitle: 'Add a new queue', form: addQueueForm });
}
