// Overview: object and message totals, a live message-rate chart computed
// from successive /api/overview polls, the nodes and the alarm check.
import { api, credentials } from '../api.js';
import { drawChart, ratesFrom } from '../chart.js';
import { fmtBytes, fmtNum, fmtRate, h, pill, section, statePill, table } from '../dom.js';

const POLL_MS = 5000;
const KEEP = 60;  // five minutes of samples
const SERIES = [
  { key: 'publish', label: 'Publish', color: '#e8590c' },
  { key: 'deliver_get', label: 'Deliver / get', color: '#1c7ed6' },
  { key: 'ack', label: 'Acknowledge', color: '#2f9e44' },
];
// Sampling goes on while the user is signed in, whichever page is shown, so
// the chart has history on return; the overview page listens while shown.
const sampler = { samples: [], timer: null, listener: null };

async function takeSample() {
  const o = await api.get('/overview');
  const now = Date.now();
  const last = sampler.samples[sampler.samples.length - 1];
  // Samples much closer than the poll interval would make noisy rates.
  if (!last || now - last.t >= POLL_MS * 0.8) {
    sampler.samples.push({ t: now, values: o.message_stats || {} });
    if (sampler.samples.length > KEEP) sampler.samples.shift();
  }
  return o;
}

function keepSampling() {
  if (sampler.timer) return;
  sampler.timer = setInterval(async () => {
    if (!credentials()) return;
    try {
      const o = await takeSample();
      if (sampler.listener) await sampler.listener(o);
    } catch { /* the next tick tries again */ }
  }, POLL_MS);
}

function stat(label, value, id) {
  return h('div.stat', h('span.stat-value', { id }, fmtNum(value)), h('span.stat-label', label));
}

function totals(o) {
  const ot = o.object_totals || {};
  const qt = o.queue_totals || {};
  return h('div.stat-groups',
    section('Totals', h('div.stats',
      stat('Connections', ot.connections, 'total-connections'), stat('Channels', ot.channels, 'total-channels'),
      stat('Exchanges', ot.exchanges, 'total-exchanges'), stat('Queues', ot.queues, 'total-queues'),
      stat('Consumers', ot.consumers, 'total-consumers'))),
    section('Queued messages', h('div.stats',
      stat('Ready', qt.messages_ready, 'total-ready'),
      stat('Unacknowledged', qt.messages_unacknowledged, 'total-unacked'),
      stat('Total', qt.messages, 'total-messages'))));
}

function nodesTable(nodes) {
  return table([
    { title: 'Name', value: (n) => h('strong', n.name) },
    { title: 'State', value: (n) => statePill(n.running === false ? 'down' : 'running') },
    { title: 'Memory', num: true, value: (n) => usage(n.mem_used, n.mem_limit, fmtBytes, n.mem_alarm) },
    { title: 'Disk free', num: true, value: (n) => h(n.disk_free_alarm ? 'span.bad' : 'span', fmtBytes(n.disk_free)) },
    { title: 'File descriptors', num: true, value: (n) => usage(n.fd_used, n.fd_total, fmtNum) },
    { title: 'Uptime', num: true, value: (n) => uptime(n.uptime) },
  ], nodes, ['No nodes reachable', 'warren-mgmt could not reach any node.']);
}

function usage(used, limit, fmt, alarm) {
  const pct = limit ? Math.min(100, (100 * used) / limit) : 0;
  return h('div.usage', h('span', fmt(used), limit ? h('span.muted', ` / ${fmt(limit)}`) : null),
    limit ? h('div.bar', h(`div.bar-fill${alarm || pct > 90 ? '.bar-bad' : ''}`, { style: `width:${pct}%` })) : null);
}

function uptime(ms) {
  if (ms === undefined) return '–';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${hr}h` : hr ? `${hr}h ${m}m` : `${m}m ${s % 60}s`;
}

async function alarms() {
  try {
    await api.get('/health/checks/alarms');
    return h('div.alarm-ok#alarms', pill('OK', 'ok'), ' No resource alarms are in effect.');
  } catch (err) {
    if (err.rejected) throw err;
    if (err.status !== 503) return h('div#alarms', pill('Unknown', 'neutral'), ` The alarm check failed: ${err.message}`);
    return h('div.alarm-bad#alarms', { role: 'alert' }, pill('Alarm', 'bad'), ` ${err.message}`);
  }
}

export async function render(ctx) {
  const canvas = h('canvas.chart#rates-chart', { 'aria-label': 'Message rates' });
  const legend = h('div.legend');
  const body = h('div');
  const nodesBox = h('div');
  const alarmBox = h('div');
  ctx.root.append(
    h('div.page-head', h('h1', 'Overview'), h('span.muted', `Refreshes every ${POLL_MS / 1000} s`)),
    body,
    section('Message rates', legend, canvas),
    h('div.two-col.wide-left', section('Nodes', nodesBox), section('Alarms', alarmBox)));

  const draw = async (o) => {
    const [nodes, alarm] = await Promise.all([api.get('/nodes'), alarms()]);
    const points = ratesFrom(sampler.samples, SERIES);
    const last = points[points.length - 1] || {};
    legend.replaceChildren(...SERIES.map((s) => h('span.legend-item',
      h('span.swatch', { style: `background:${s.color}` }), s.label, h('strong', fmtRate(last[s.key])))));
    body.replaceChildren(totals(o));
    nodesBox.replaceChildren(nodesTable(nodes));
    alarmBox.replaceChildren(alarm);
    drawChart(canvas, points, SERIES);
    canvas.dataset.points = points.length;
  };
  await draw(await takeSample());
  keepSampling();
  sampler.listener = draw;
  ctx.onLeave(() => { sampler.listener = null; });
}
