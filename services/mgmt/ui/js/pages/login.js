// The log-in page: checks the credentials against /api/whoami before keeping them.
import { basicToken, request, saveCredentials } from '../api.js';
import { h, notice } from '../dom.js';
import { field, submit } from '../forms.js';

export async function render({ root }) {
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div.form-msg');
  const form = h('form.login-card', { novalidate: true },
    h('div.login-brand', h('span.logo.logo-lg', { 'aria-hidden': 'true' }), h('h1', 'Warren')),
    h('p.login-sub', 'Sign in to manage your broker'),
    field('Username', user), field('Password', pass), submit('Log in'), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = basicToken(user.value, pass.value);
    try {
      await request('GET', '/whoami', undefined, token);
      saveCredentials(user.value, token);
      location.hash = '#/overview';
    } catch (err) {
      notice(msg, err.rejected ? 'Login failed: wrong username or password.' : err.message, 'bad');
    }
  });
  root.append(h('div.login-page', form));
}
