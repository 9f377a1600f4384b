// Users (add with tags, delete) and their permissions per virtual host (set, clear).
import { api, seg } from '../api.js';
import { action, dangerButton, h, pageHead, pill, section, table } from '../dom.js';
import { field, form, select, submit, text, vhostSelect } from '../forms.js';

const TAGS = ['administrator', 'monitoring', 'policymaker', 'management'];
const tagList = (t) => (Array.isArray(t) ? t : String(t || '').split(',')).map((s) => s.trim()).filter(Boolean);

function usersTable(users, perms, refresh) {
  const access = (u) => perms.filter((p) => p.user === u.name).map((p) => p.vhost);
  return table([
    { title: 'Name', value: (u) => h('strong', u.name) },
    { title: 'Tags', value: (u) => tagList(u.tags).map((t) => pill(t, t === 'administrator' ? 'info' : 'neutral')) },
    { title: 'Can access virtual hosts', value: (u) => access(u).join(', ') || h('span.muted', 'no access') },
    { title: '', value: (u) => dangerButton('Delete', `Delete user ${u.name}?`, async () => {
      await api.del(`/users/${seg(u.name)}`);
      await refresh();
    }) },
  ], users, ['No users']);
}

function permissionsTable(perms, refresh) {
  return table([
    { title: 'User', value: (p) => p.user },
    { title: 'Virtual host', value: (p) => p.vhost },
    { title: 'Configure', value: (p) => h('code', p.configure) },
    { title: 'Write', value: (p) => h('code', p.write) },
    { title: 'Read', value: (p) => h('code', p.read) },
    { title: '', value: (p) => dangerButton('Clear', `Clear ${p.user}'s permissions on ${p.vhost}?`, async () => {
      await api.del(`/permissions/${seg(p.vhost)}/${seg(p.user)}`);
      await refresh();
    }) },
  ], perms, ['No permissions', 'Without permissions a user cannot use any virtual host.']);
}

function addUserForm(refresh) {
  const tags = text('tags', { placeholder: 'administrator' });
  const quick = h('div.tag-buttons', TAGS.map((t) => h('button.btn.btn-small', {
    type: 'button',
    onclick: () => { tags.value = [...new Set([...tagList(tags.value), t])].join(', '); },
  }, t)));
  const f = form(h('div.form-grid',
    field('Username', text('username', { required: true })),
    field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'new-password' })),
    h('div.field.span-2', field('Tags', tags, 'Comma-separated; click to add:'), quick)),
  submit('Add user'));
  return action(f, async (data) => {
    const name = data.get('username').trim();
    if (!name) throw new Error('A user needs a name.');
    await api.put(`/users/${seg(name)}`, { password: data.get('password'), tags: tagList(data.get('tags')).join(',') });
    return `User ${name} added.`;
  }, refresh);
}

function setPermissionsForm(userSelect, vhosts, refresh) {
  const f = form(h('div.form-grid',
    field('User', userSelect),
    vhostSelect(vhosts),
    field('Configure regexp', text('configure', { value: '.*' })),
    field('Write regexp', text('write', { value: '.*' })),
    field('Read regexp', text('read', { value: '.*' }))),
  submit('Set permission'));
  return action(f, async (data) => {
    await api.put(`/permissions/${seg(data.get('vhost'))}/${seg(data.get('user'))}`,
      { configure: data.get('configure'), write: data.get('write'), read: data.get('read') });
    return `Permissions of ${data.get('user')} on ${data.get('vhost')} set.`;
  }, refresh);
}

export async function render(ctx) {
  const usersBox = h('div#users-table');
  const permsBox = h('div#permissions-table');
  const userSelect = select('user', []);
  const refresh = async () => {
    const [users, perms] = await Promise.all([api.get('/users'), api.get('/permissions')]);
    usersBox.replaceChildren(usersTable(users, perms, refresh));
    permsBox.replaceChildren(permissionsTable(perms, refresh));
    const chosen = userSelect.value;
    userSelect.replaceChildren(...users.map((u) => h('option', { value: u.name, selected: u.name === chosen }, u.name)));
  };
  const vhosts = await api.get('/vhosts');
  await refresh();
  ctx.root.append(pageHead('Users and permissions'),
    section('Users', usersBox),
    h('div.two-col',
      section('Add a user', addUserForm(refresh)),
      section('Set permission', setPermissionsForm(userSelect, vhosts, refresh))),
    section('Permissions', permsBox));
}
