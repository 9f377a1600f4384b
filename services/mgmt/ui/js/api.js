// The management API client: Basic credentials from sessionStorage on every
// request; refused credentials (a 401 other than not_authorised) clear them and send
// the browser back to the login page.
const KEY = 'warren.auth';

export function credentials() {
  const raw = sessionStorage.getItem(KEY);
  return raw ? JSON.parse(raw) : null;
}

export const basicToken = (username, password) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(`${username}:${password}`)));

export function saveCredentials(username, token) {
  sessionStorage.setItem(KEY, JSON.stringify({ username, token }));
}

export function forgetCredentials() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, reason, error) {
    super(reason || `HTTP ${status}`);
    this.status = status;
    // The credentials were refused (401 not_authorised is a known user
    // whose tags or permissions do not allow the call: the session stays).
    this.rejected = status === 401 && error !== 'not_authorised';
  }
}

// One path segment: vhost "/" becomes %2F as the API expects.
export const seg = (s) => encodeURIComponent(s);

export async function request(method, path, body, token = credentials()?.token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Basic ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // credentials 'omit': the header above is the only credential sent, and a 401
  // carrying WWW-Authenticate then reaches this code instead of a browser prompt.
  const res = await fetch(`/api${path}`, {
    method, headers, credentials: 'omit', body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  const err = res.ok ? null : new ApiError(res.status, data?.reason || data?.error || text.trim(), data?.error);
  if (err?.rejected && token) {
    forgetCredentials();
    location.hash = '#/login';
  }
  if (err) throw err;
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  put: (path, body = {}) => request('PUT', path, body),
  post: (path, body = {}) => request('POST', path, body),
  del: (path) => request('DELETE', path),
};
