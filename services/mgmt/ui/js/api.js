// The management API client: Basic credentials from sessionStorage on every
// request; a 401 clears them and sends the browser back to the login page.
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
  constructor(status, reason) {
    super(reason || `HTTP ${status}`);
    this.status = status;
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
  if (res.status === 401 && token) {
    forgetCredentials();
    location.hash = '#/login';
  }
  if (!res.ok) throw new ApiError(res.status, data?.reason || data?.error || text.trim());
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  put: (path, body = {}) => request('PUT', path, body),
  post: (path, body = {}) => request('POST', path, body),
  del: (path) => request('DELETE', path),
};
