// Exchanges: every exchange with its message rates, and the form to declare one.
import { api, seg } from '../api.js';
import { action, features, h, link, rate, table } from '../dom.js';
import { checkbox, field, form, keyValueRows, select, submit, text, vhostSelect } from '../forms.js';
import { declared, durabilityField, listWithForm } from '../list-page.js';

export const DEFAULT_EXCHANGE = 'amq.default';
export const exchangeHref = (e) => `#/exchanges/${seg(e.vhost)}/${seg(e.name || DEFAULT_EXCHANGE)}`;

function exchangesTable(exchanges) {
  return table([
    { title: 'Virtual host', value: (e) => e.vhost },
    { title: 'Name', value: (e) => link(exchangeHref(e), e.name || '(AMQP default)') },
    { title: 'Type', value: (e) => h('span.type', e.type) },
    { title: 'Features', value: features },
    { title: 'Message rate in', num: true, value: (e) => rate(e.message_stats, 'publish_in', `exchange ${e.vhost} ${e.name}`) },
    { title: 'Message rate out', num: true, value: (e) => rate(e.message_stats, 'publish_out', `exchange ${e.vhost} ${e.name}`) },
  ], exchanges, ['No exchanges', 'Declare one below.']);
}

function addExchangeForm(vhosts, refresh) {
  const args = keyValueRows('Arguments', 'alternate-exchange');
  const f = form(
    h('div.form-grid',
      vhostSelect(vhosts),
      field('Name', text('name', { required: true, placeholder: 'orders.events' })),
      field('Type', select('type', ['direct', 'fanout', 'topic', 'headers'], 'direct')),
      durabilityField(),
      checkbox('auto_delete', 'Auto-delete when its last binding goes'),
      checkbox('internal', 'Internal (no direct publishing)')),
    args, submit('Add exchange'));
  return action(f, async (data) => {
    const { name, durable, auto_delete } = declared(data, 'An exchange');
    await api.put(`/exchanges/${seg(data.get('vhost'))}/${seg(name)}`, {
      type: data.get('type'), durable, auto_delete, internal: data.get('internal') === 'on', arguments: args.collect(),
    });
    return `Exchange ${name} declared.`;
  }, refresh);
}

export function render(ctx) {
  return listWithForm(ctx, { title: 'Exchanges', id: 'exchanges-table', path: '/exchanges', table: exchangesTable,
    formTitle: 'Add a new exchange', form: addExchangeForm });
}
