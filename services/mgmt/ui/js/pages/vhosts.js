// Virtual hosts: list with message counts, add and delete.
import { api, seg } from '../api.js';
import { action, dangerButton, fmtNum, h, pageHead, section, table } from '../dom.js';
import { field, form, submit, text } from '../forms.js';

function vhostsTable(vhosts, refresh) {
  return table([
    { title: 'Name', value: (v) => h('strong', v.name) },
    { title: 'Description', value: (v) => v.description || h('span.muted', '–') },
    { title: 'Ready', num: true, value: (v) => fmtNum(v.messages_ready) },
    { title: 'Unacked', num: true, value: (v) => fmtNum(v.messages_unacknowledged) },
    { title: 'Total', num: true, value: (v) => fmtNum(v.messages) },
    { title: '', value: (v) => dangerButton('Delete', `Delete virtual host ${v.name} with all its queues and exchanges?`, async () => {
      await api.del(`/vhosts/${seg(v.name)}`);
      await refresh();
    }) },
  ], vhosts, ['No virtual hosts', 'Add one below.']);
}

export async function render(ctx) {
  const list = h('div#vhosts-table');
  const refresh = async () => list.replaceChildren(vhostsTable(await api.get('/vhosts'), refresh));
  await refresh();
  const f = form(h('div.form-grid',
    field('Name', text('name', { required: true, placeholder: 'staging' })),
    field('Description', text('description'))), submit('Add virtual host'));
  action(f, async (data) => {
    const name = data.get('name').trim();
    if (!name) throw new Error('A virtual host needs a name.');
    await api.put(`/vhosts/${seg(name)}`, data.get('description') ? { description: data.get('description') } : {});
    return `Virtual host ${name} added.`;
  }, refresh);
  ctx.root.append(pageHead('Virtual hosts'), section('All virtual hosts', list), section('Add a new virtual host', f));
}
