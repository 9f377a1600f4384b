// Labelled form fields and the key/value rows used for queue, exchange and
// binding arguments and for a policy's free definition keys.
import { h } from './dom.js';

let nextId = 0;
const fieldId = (name) => `f-${name}-${(nextId += 1)}`;

export function field(label, input, hint) {
  if (!input.id) input.id = fieldId(input.name || 'x');
  return h('div.field', h('label', { for: input.id }, label), input, hint && h('small.hint', hint));
}

export const text = (name, attrs = {}) => h('input', { type: 'text', name, autocomplete: 'off', ...attrs });

export function select(name, options, value) {
  return h('select', { name }, options.map((o) => {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value }, label);
  }));
}

export function checkbox(name, label, checked = false) {
  const input = h('input', { type: 'checkbox', name, checked, id: fieldId(name) });
  return h('div.field.check', input, h('label', { for: input.id }, label));
}

export const submit = (label) => h('button.btn.btn-primary', { type: 'submit' }, label);

export function form(...children) {
  return h('form.form', { novalidate: true }, children);
}

// Converts what was typed into the JSON value RabbitMQ expects for the type.
function typed(value, type) {
  if (type === 'number') {
    const n = Number(value);
    if (value.trim() === '' || Number.isNaN(n)) throw new Error(`"${value}" is not a number`);
    return n;
  }
  if (type === 'boolean') return value.trim().toLowerCase() === 'true';
  return value;
}

// Rows of key = value (type); more rows appear as the last one is filled.
export function keyValueRows(label, placeholder = 'x-message-ttl') {
  const rows = h('div.kv-rows');
  const addRow = () => {
    const key = h('input', { type: 'text', placeholder, 'aria-label': `${label} key`, class: 'kv-key' });
    const value = h('input', { type: 'text', 'aria-label': `${label} value`, class: 'kv-value' });
    const type = h('select', { 'aria-label': `${label} type`, class: 'kv-type' },
      [['string', 'String'], ['number', 'Number'], ['boolean', 'Boolean']].map(([v, t]) => h('option', { value: v }, t)));
    key.addEventListener('input', () => { if (rows.lastChild === row && key.value) addRow(); });
    const row = h('div.kv-row', key, h('span.kv-eq', '='), value, type);
    rows.append(row);
  };
  addRow();
  const wrap = h('div.field', h('span.label', label), rows);
  wrap.collect = () => {
    const out = {};
    for (const row of rows.children) {
      const k = row.querySelector('.kv-key').value.trim();
      if (k) out[k] = typed(row.querySelector('.kv-value').value, row.querySelector('.kv-type').value);
    }
    return out;
  };
  return wrap;
}

export function vhostSelect(vhosts, value = '/') {
  return field('Virtual host', select('vhost', vhosts.map((v) => v.name), value));
}
