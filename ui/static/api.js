// api.js: every request the dashboard makes goes through here, to /api/v1
// (or /ui) on this origin with the session cookie. Unsafe methods carry
// the session's CSRF token. The token the user logged in with is never
// kept by the page.

let csrf = '';

export function setCSRF(t) { csrf = t || ''; }

// ApiError is a failed answer: status and the API's error code.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || ('HTTP ' + status));
    this.status = status;
    this.code = code;
  }
}

export async function call(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET' && method !== 'HEAD') opts.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!resp.ok) {
    const err = data && data.error ? data.error : {};
    throw new ApiError(resp.status, err.code, err.message);
  }
  return data;
}

export const get = (path) => call('GET', path);

// optional returns null when the route does not exist on this server
// (404 NOT_FOUND for the route itself) or the role may not read it.
export async function optional(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 403 || e.status === 405)) return null;
    throw e;
  }
}

export function enc(s) { return encodeURIComponent(s); }
