// The shape shared by the queues and exchanges pages: a live list of every
// object, and below it a form that declares one (in a chosen vhost).
import { api } from './api.js';
import { h, live, pageHead, section } from './dom.js';
import { field, select } from './forms.js';

export async function listWithForm(ctx, { title, id, path, table, formTitle, form }) {
  const list = h(`div#${id}`);
  const vhosts = await api.get('/vhosts');
  ctx.root.append(pageHead(title), section(`All ${title.toLowerCase()}`, list));
  const refresh = await live(ctx, list, 5000, async () => table(await api.get(path)));
  ctx.root.append(section(formTitle, form(vhosts, refresh)));
}

export const durabilityField = () =>
  field('Durability', select('durability', [['durable', 'Durable'], ['transient', 'Transient']], 'durable'));

// The name and the flags both declare forms have, as the API's JSON fields.
export function declared(data, what) {
  const name = data.get('name').trim();
  if (!name) throw new Error(`${what} needs a name.`);
  return { name, durable: data.get('durability') === 'durable', auto_delete: data.get('auto_delete') === 'on' };
}
