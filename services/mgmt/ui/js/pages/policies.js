// Policies: list and delete, and the form the tutorial's mirroring step uses
// (name, pattern, apply-to, priority, ha-mode / ha-params / ha-sync-mode),
// with free key/value rows for every other definition key.
import { api, seg } from '../api.js';
import { action, dangerButton, fmtNum, h, kvList, pageHead, section, table } from '../dom.js';
import { field, form, keyValueRows, select, submit, text, vhostSelect } from '../forms.js';

function policiesTable(policies, refresh) {
  return table([
    { title: 'Virtual host', value: (p) => p.vhost },
    { title: 'Name', value: (p) => h('strong', p.name) },
    { title: 'Pattern', value: (p) => h('code', p.pattern) },
    { title: 'Apply to', value: (p) => p['apply-to'] },
    { title: 'Definition', value: (p) => kvList(p.definition) },
    { title: 'Priority', num: true, value: (p) => fmtNum(p.priority) },
    { title: '', value: (p) => dangerButton('Delete', `Delete policy ${p.name}?`, async () => {
      await api.del(`/policies/${seg(p.vhost)}/${seg(p.name)}`);
      await refresh();
    }) },
  ], policies, ['No policies', 'A policy applies definition keys to every queue or exchange whose name matches its pattern.']);
}

// ha-params is a count for "exactly" and a list of node names for "nodes".
function haParams(mode, raw) {
  const value = raw.trim();
  if (mode === 'exactly') {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error('ha-mode "exactly" needs ha-params: a whole number of nodes, 1 or more.');
    return n;
  }
  if (mode === 'nodes') {
    const nodes = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (!nodes.length) throw new Error('ha-mode "nodes" needs ha-params: node names separated by commas.');
    return nodes;
  }
  if (value) throw new Error('ha-params is only used with ha-mode "exactly" or "nodes".');
  return undefined;
}

function policyForm(vhosts, refresh) {
  const extra = keyValueRows('Other definition keys', 'message-ttl');
  const params = text('ha-params', { placeholder: 'e.g. 2, or warren@a, warren@b' });
  const mode = select('ha-mode', [['', '(none)'], ['all', 'all: every node'], ['exactly', 'exactly: ha-params nodes'], ['nodes', 'nodes: the named nodes']], '');
  const f = form(
    h('div.form-grid',
      vhostSelect(vhosts),
      field('Name', text('name', { required: true, placeholder: 'ha-all' })),
      field('Pattern', text('pattern', { required: true, placeholder: '^' }), 'A regular expression over queue or exchange names; ^ matches all'),
      field('Apply to', select('apply-to', [['all', 'Exchanges and queues'], ['queues', 'Queues'], ['exchanges', 'Exchanges']], 'all')),
      field('Priority', text('priority', { value: '0', inputmode: 'numeric' }))),
    h('fieldset.definition', h('legend', 'Definition: mirroring'),
      h('div.form-grid',
        field('ha-mode', mode),
        field('ha-params', params),
        field('ha-sync-mode', select('ha-sync-mode', [['', '(none)'], ['automatic', 'automatic'], ['manual', 'manual']], '')))),
    extra, submit('Add / update policy'));
  return action(f, async (data) => {
    const name = data.get('name').trim();
    if (!name) throw new Error('A policy needs a name.');
    if (!data.get('pattern')) throw new Error('A policy needs a pattern.');
    const definition = { ...extra.collect() };
    const haMode = data.get('ha-mode');
    if (haMode) {
      definition['ha-mode'] = haMode;
      const p = haParams(haMode, data.get('ha-params'));
      if (p !== undefined) definition['ha-params'] = p;
    } else if (data.get('ha-params').trim()) {
      throw new Error('ha-params needs an ha-mode.');
    }
    if (data.get('ha-sync-mode')) definition['ha-sync-mode'] = data.get('ha-sync-mode');
    if (!Object.keys(definition).length) throw new Error('A policy needs at least one definition key.');
    const priority = Number(data.get('priority') || 0);
    if (!Number.isInteger(priority)) throw new Error('Priority must be a whole number.');
    await api.put(`/policies/${seg(data.get('vhost'))}/${seg(name)}`,
      { pattern: data.get('pattern'), 'apply-to': data.get('apply-to'), priority, definition });
    return `Policy ${name} set.`;
  }, refresh);
}

export async function render(ctx) {
  const list = h('div#policies-table');
  const refresh = async () => list.replaceChildren(policiesTable(await api.get('/policies'), refresh));
  const vhosts = await api.get('/vhosts');
  await refresh();
  ctx.root.append(pageHead('Policies'), section('User policies', list), section('Add / update a policy', policyForm(vhosts, refresh)));
}
