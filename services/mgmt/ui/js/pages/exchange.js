// One exchange: its properties, the bindings from it (add and remove), publishing and deletion.
import { api, seg } from '../api.js';
import { action, dangerButton, features, h, kvList, link, pageHead, rate, section, table } from '../dom.js';
import { field, form, keyValueRows, select, submit, text } from '../forms.js';
import { publishForm } from '../messages.js';
import { DEFAULT_EXCHANGE } from './exchanges.js';

const destHref = (b) => `#/${b.destination_type === 'queue' ? 'queues' : 'exchanges'}/${seg(b.vhost)}/${seg(b.destination)}`;

function bindingsTable(vhost, name, bindings, refresh) {
  return table([
    { title: 'To', value: (b) => h('span', h('span.muted', `${b.destination_type} `), link(destHref(b), b.destination)) },
    { title: 'Routing key', value: (b) => h('code', b.routing_key) },
    { title: 'Arguments', value: (b) => kvList(b.arguments) },
    { title: '', value: (b) => dangerButton('Unbind', `Remove this binding to ${b.destination}?`, async () => {
      const kind = b.destination_type === 'queue' ? 'q' : 'e';
      await api.del(`/bindings/${seg(vhost)}/e/${seg(name)}/${kind}/${seg(b.destination)}/${seg(b.properties_key)}`);
      await refresh();
    }) },
  ], bindings, ['No bindings', 'Messages published here are dropped until something is bound.']);
}

function addBindingForm(vhost, name, refresh) {
  const args = keyValueRows('Arguments', 'x-match');
  const f = form(
    h('div.form-grid',
      field('Destination type', select('kind', [['q', 'Queue'], ['e', 'Exchange']], 'q')),
      field('Destination', text('destination', { required: true })),
      field('Routing key', text('routing_key'))),
    args, submit('Bind'));
  return action(f, async (data) => {
    const dest = data.get('destination').trim();
    if (!dest) throw new Error('Name the queue or exchange to bind.');
    await api.post(`/bindings/${seg(vhost)}/e/${seg(name)}/${data.get('kind')}/${seg(dest)}`, {
      routing_key: data.get('routing_key'), arguments: args.collect(),
    });
    return `Bound to ${dest}.`;
  }, refresh);
}

export async function render(ctx) {
  const [vhost, pathName] = ctx.params;
  const name = pathName === DEFAULT_EXCHANGE ? '' : pathName;
  const e = await api.get(`/exchanges/${seg(vhost)}/${seg(pathName)}`);
  const bindingsBox = h('div#exchange-bindings');
  const refresh = async () => bindingsBox.replaceChildren(bindingsTable(vhost, pathName,
    await api.get(`/exchanges/${seg(vhost)}/${seg(pathName)}/bindings/source`), refresh));
  await refresh();
  const builtin = name === '' || name.startsWith('amq.');
  const id = `exchange ${vhost} ${name}`;
  ctx.root.append(...[
    pageHead(h('span', h('span.muted', 'Exchange '), name || '(AMQP default)'), h('span.muted', `in virtual host ${vhost}`)),
    section('Details', h('dl.props',
      h('dt', 'Type'), h('dd', e.type),
      h('dt', 'Features'), h('dd', features(e), !e.durable && 'transient'),
      h('dt', 'Rate in / out'), h('dd', `${rate(e.message_stats, 'publish_in', id)} / ${rate(e.message_stats, 'publish_out', id)}`),
      h('dt', 'Arguments'), h('dd', kvList(e.arguments)))),
    section('Bindings from this exchange', bindingsBox),
    name !== '' && section('Add binding from this exchange', addBindingForm(vhost, pathName, refresh)),
    section('Publish message', publishForm(vhost, name)),
    !builtin && section('Delete this exchange', h('div.actions',
      dangerButton('Delete exchange', `Delete exchange ${name}?`, async () => {
        await api.del(`/exchanges/${seg(vhost)}/${seg(name)}`);
        location.hash = '#/exchanges';
      }))),
  ].filter(Boolean));
}
