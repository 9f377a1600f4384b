// The shell: header, navigation and a hash router. Each page module exports
// render(ctx) and draws into ctx.root; timers it starts go through ctx.every
// so that leaving the page stops them.
import { api, credentials, forgetCredentials } from './api.js';
import { h } from './dom.js';
import * as login from './pages/login.js';
import * as overview from './pages/overview.js';
import * as queues from './pages/queues.js';
import * as queue from './pages/queue.js';
import * as exchanges from './pages/exchanges.js';
import * as exchange from './pages/exchange.js';
import * as connections from './pages/connections.js';
import * as users from './pages/users.js';
import * as vhosts from './pages/vhosts.js';
import * as policies from './pages/policies.js';

const NAV = [
  ['overview', 'Overview'], ['connections', 'Connections'], ['channels', 'Channels'],
  ['exchanges', 'Exchanges'], ['queues', 'Queues'], ['users', 'Users'],
  ['vhosts', 'Virtual hosts'], ['policies', 'Policies'],
];

// [first path word, number of parameters] -> page
const ROUTES = {
  'login:0': login, 'overview:0': overview, 'queues:0': queues, 'queues:2': queue,
  'exchanges:0': exchanges, 'exchanges:2': exchange, 'connections:0': connections,
  'channels:0': connections, 'users:0': users, 'vhosts:0': vhosts, 'policies:0': policies,
};

let cleanups = [];
let whoami = null;

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || 'overview', params: parts.slice(1) };
}

function header(user) {
  const tags = Array.isArray(user.tags) ? user.tags.join(', ') : user.tags;
  return h('header.topbar',
    h('a.brand', { href: '#/overview' },
      h('span.logo', { 'aria-hidden': 'true' }), h('span.brand-name', 'Warren'),
      h('span.brand-sub', 'Management')),
    h('div.userbox',
      h('span.user', { title: tags || 'no tags' }, h('span.user-label', 'Signed in as '),
        h('strong#current-user', user.name), tags && h('span.user-tags', tags)),
      h('button.btn.btn-ghost#logout', { type: 'button', onclick: logout }, 'Log out')));
}

function nav(active) {
  return h('nav.tabs', NAV.map(([id, label]) =>
    h('a', { href: `#/${id}`, class: id === active ? 'active' : null, dataset: { nav: id } }, label)));
}

function logout() {
  forgetCredentials();
  whoami = null;
  location.hash = '#/login';
}

async function route() {
  for (const fn of cleanups) fn();
  cleanups = [];
  const { page, params } = parseHash();
  const app = document.getElementById('app');
  const mod = ROUTES[`${page}:${params.length}`];
  if (page !== 'login' && !credentials()) { location.hash = '#/login'; return; }
  if (page === 'login') {
    app.replaceChildren();
    await login.render({ root: app });
    return;
  }
  try {
    whoami = whoami || await api.get('/whoami');
  } catch (err) {
    if (err.rejected) return;  // request() has already gone to the login page
    whoami = { name: credentials().username, tags: [] };
  }
  const root = h('main.content');
  app.replaceChildren(header(whoami), nav(page), root);
  if (!mod) {
    root.append(h('div.empty', h('p.empty-title', 'Page not found'), h('a', { href: '#/overview' }, 'Go to the overview')));
    return;
  }
  const ctx = {
    root, params, page, whoami,
    every(ms, fn) { const t = setInterval(fn, ms); cleanups.push(() => clearInterval(t)); },
    onLeave(fn) { cleanups.push(fn); },
  };
  try {
    await mod.render(ctx);
  } catch (err) {
    if (err.rejected) return;
    root.replaceChildren(h('div.notice.notice-bad', { role: 'alert' }, `Could not load this page: ${err.message}`));
  }
}

window.addEventListener('hashchange', route);
route();
