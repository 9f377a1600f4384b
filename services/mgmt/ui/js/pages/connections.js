// Connections (with a close button each) and channels: two tabs of one page module.
import { api, seg } from '../api.js';
import { rateOf } from '../rates.js';
import { dangerButton, fmtBytes, fmtNum, h, live, pageHead, pill, rate, section, statePill, table } from '../dom.js';

const rateBytes = (c, key) => {
  const r = rateOf(c, key, `connection ${c.name}`);
  return r === undefined ? '–' : `${fmtBytes(Math.round(r))}/s`;
};

function connectionsTable(conns, refresh) {
  return table([
    { title: 'Name', value: (c) => h('span.mono', c.name) },
    { title: 'User', value: (c) => c.user },
    { title: 'Virtual host', value: (c) => c.vhost },
    { title: 'Client', value: (c) => c.client_properties?.product || h('span.muted', 'unknown') },
    { title: 'Protocol', value: (c) => c.protocol || 'AMQP 0-9-1' },
    { title: 'State', value: (c) => statePill(c.state) },
    { title: 'Channels', num: true, value: (c) => fmtNum(c.channels) },
    { title: 'From client', num: true, value: (c) => rateBytes(c, 'recv_oct') },
    { title: 'To client', num: true, value: (c) => rateBytes(c, 'send_oct') },
    { title: '', value: (c) => dangerButton('Close', `Close connection ${c.name}?`, async () => {
      await api.del(`/connections/${seg(c.name)}`);
      await refresh();
    }) },
  ], conns, ['No open connections', 'Clients connected over AMQP appear here.']);
}

function channelsTable(chans) {
  return table([
    { title: 'Channel', value: (c) => h('span.mono', c.name) },
    { title: 'User', value: (c) => c.user },
    { title: 'Virtual host', value: (c) => c.vhost },
    { title: 'Mode', value: (c) => [c.confirm && pill('confirm', 'info'), c.transactional && pill('tx', 'info')] },
    { title: 'State', value: (c) => statePill(c.state) },
    { title: 'Prefetch', num: true, value: (c) => fmtNum(c.prefetch_count) },
    { title: 'Unacked', num: true, value: (c) => fmtNum(c.messages_unacknowledged) },
    { title: 'Consumers', num: true, value: (c) => fmtNum(c.consumer_count) },
    { title: 'Publish', num: true, value: (c) => rate(c.message_stats, 'publish', `channel ${c.name}`) },
    { title: 'Deliver / get', num: true, value: (c) => rate(c.message_stats, 'deliver_get', `channel ${c.name}`) },
  ], chans, ['No open channels', 'Channels of connected clients appear here.']);
}

export async function render(ctx) {
  const list = h('div');
  if (ctx.page === 'channels') {
    ctx.root.append(pageHead('Channels'), section('All channels', list));
    await live(ctx, list, 5000, async () => channelsTable(await api.get('/channels')));
    return;
  }
  ctx.root.append(pageHead('Connections'), section('All connections', list));
  let refresh = null;
  refresh = await live(ctx, list, 5000, async () => connectionsTable(await api.get('/connections'), () => refresh()));
}
