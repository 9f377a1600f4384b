// Small DOM helpers shared by every page: an element builder, number and
// byte formatting, tables with empty states, status pills and notices.
import { rateOf } from './rates.js';

// h('div.card#id', {onclick}, child, ...): children may be strings, nodes,
// arrays or null.
export function h(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  const [, tag = 'div', rest = ''] = spec.match(/^([a-z0-9]*)(.*)$/i);
  const el = document.createElement(tag || 'div');
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const fmtNum = (n) => (n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US'));

export function fmtRate(r) {
  if (r === undefined || r === null) return '–';
  return `${r < 10 && r > 0 ? r.toFixed(1) : Math.round(r).toLocaleString('en-US')}/s`;
}

export function fmtBytes(b) {
  if (b === undefined || b === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i += 1; }
  return `${i ? b.toFixed(1) : b} ${units[i]}`;
}

export function pill(text, kind = 'neutral') {
  return h(`span.pill.pill-${kind}`, text);
}

const STATE_KINDS = { running: 'ok', ok: 'ok', idle: 'neutral', flow: 'warn', blocked: 'warn',
  blocking: 'warn', closing: 'warn', down: 'bad', crashed: 'bad', stopped: 'bad' };
export const statePill = (state) => pill(state || 'unknown', STATE_KINDS[state] || 'neutral');

// columns: [{ title, value: row => node|string, num: bool }]
export function table(columns, rows, empty) {
  if (!rows.length) return h('div.empty', h('p.empty-title', empty[0]), empty[1] && h('p', empty[1]));
  return h('div.table-wrap', h('table.data',
    h('thead', h('tr', columns.map((c) => h(c.num ? 'th.num' : 'th', c.title)))),
    h('tbody', rows.map((r) => h('tr', columns.map((c) => h(c.num ? 'td.num' : 'td', c.value(r))))))));
}

export function section(title, ...body) {
  return h('section.card', h('h2', title), body);
}

export function notice(el, text, kind = 'ok') {
  el.replaceChildren(h(`div.notice.notice-${kind}`, { role: kind === 'bad' ? 'alert' : 'status' }, text));
}

export const link = (href, text) => h('a', { href }, text);

// Wraps a form action: disables the button while running, reports the result.
export function action(form, run, done) {
  const msg = form.querySelector('.form-msg') || form.appendChild(h('div.form-msg'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    try {
      const text = await run(new FormData(form));
      notice(msg, text || 'Done.');
      if (done) await done();
    } catch (err) {
      notice(msg, err.message, 'bad');
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

export function confirmThen(text, run) {
  return async () => { if (window.confirm(text)) await run(); };
}

// A button that asks first, runs, then reports a failure next to itself.
export function dangerButton(label, question, run, attrs = {}) {
  const btn = h('button.btn.btn-danger', { type: 'button', ...attrs }, label);
  btn.addEventListener('click', async () => {
    if (!window.confirm(question)) return;
    btn.disabled = true;
    try { await run(); } catch (err) { btn.after(h('span.inline-error', { role: 'alert' }, err.message)); }
    btn.disabled = false;
  });
  return btn;
}

export function pageHead(title, ...extra) {
  return h('div.page-head', h('h1', title), extra);
}

// Renders into el now and again every ms while the page is shown.
export async function live(ctx, el, ms, draw) {
  const run = async () => el.replaceChildren(await draw());
  await run();
  ctx.every(ms, () => run().catch(() => {}));
  return run;
}

// id names the object, for counters that come without a rate (see rates.js).
export const rate = (stats, key, id) => fmtRate(rateOf(stats, key, id));

export function features(o) {
  return h('span.features',
    o.durable && h('abbr.feat', { title: 'Durable' }, 'D'),
    o.auto_delete && h('abbr.feat', { title: 'Auto-delete' }, 'AD'),
    o.exclusive && h('abbr.feat', { title: 'Exclusive' }, 'Excl'),
    o.internal && h('abbr.feat', { title: 'Internal' }, 'I'),
    Object.keys(o.arguments || {}).length > 0 && h('abbr.feat.feat-args', { title: Object.entries(o.arguments).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') }, 'Args'),
    o.policy && h('abbr.feat.feat-policy', { title: `Policy ${o.policy}` }, o.policy));
}

// A mirrored queue's node as RabbitMQ's UI shows it: the home, then "+N" for
// its mirrors, marked while some of them are not in sync.
export function queueNode(q) {
  const mirrors = q.slave_nodes || [];
  if (!mirrors.length) return q.node;
  const synced = new Set(q.synchronised_slave_nodes || []);
  const unsynced = mirrors.filter((n) => !synced.has(n));
  return h('span', q.node, ' ',
    h(unsynced.length ? 'abbr.mirrors.unsynced' : 'abbr.mirrors',
      { title: mirrors.map((n) => `${n}${synced.has(n) ? '' : ' (not in sync)'}`).join('\n') },
      `+${mirrors.length}`));
}

// Each mirror of a queue, with whether it is in sync.
export function mirrorList(q) {
  const mirrors = q.slave_nodes || [];
  if (!mirrors.length) return h('span.muted', 'none');
  const synced = new Set(q.synchronised_slave_nodes || []);
  return h('span', ...mirrors.map((n, i) => h('span', i ? ', ' : '', n,
    !synced.has(n) && h('span.muted', ' (not in sync)'))));
}

export function kvList(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h('span.muted', 'none');
  return h('dl.kv', entries.map(([k, v]) => [h('dt', k), h('dd', typeof v === 'string' ? v : JSON.stringify(v))]));
}
