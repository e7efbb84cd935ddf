/* The JSON API from the pages: fetch with the CSRF token, errors as sentences, and what a lost
 * session means. The session token is in an HttpOnly cookie no script can read; every request
 * carries the CSRF token from the readable ts_csrf cookie in the X-CSRF-Token header (see
 * docs/ui-security.md). */

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)(?:__Host-)?ts_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

function sentence(text) {
  text = String(text || '').trim();
  if (!text) return '';
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : text + '.';
}

function messageFor(status, data) {
  if (data && typeof data.message === 'string' && data.message) {
    let m = data.message;
    if (m.startsWith('Validation error: ')) m = 'Please check the form: ' + m.slice(18);
    return sentence(m.replace(/\n+/g, ' '));
  }
  if (status === 0) return 'The server could not be reached. Check your connection and try again.';
  if (status === 401) return 'Your session has ended. Please sign in again.';
  if (status === 403) return "You don't have permission to do this.";
  if (status === 404) return 'The requested item was not found.';
  if (status === 429) return 'Too many requests. Please wait a moment and try again.';
  if (status >= 500) return 'The server ran into a problem. Please try again later.';
  return 'The request failed (status ' + status + ').';
}

export class ApiError extends Error {
  constructor(status, data) {
    super(messageFor(status, data));
    this.status = status;
    this.data = data && typeof data === 'object' ? data : {};
  }
}

export async function api(method, url, body) {
  const headers = { Accept: 'application/json', 'X-CSRF-Token': csrfToken() };
  const init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data = text;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = text; }
  } else {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// On pages behind a full session, a 401 means the session is gone: back to sign in. For a
// change of 2FA (or of an email address) it can also mean that the sign-in is too old: that
// session is ended first (the sign-in page sends a live session home), then the user signs in
// again.
const REAUTH = 'Sign in again to change ';
export function sessionLost(e) {
  if (!(e instanceof ApiError && e.status === 401)) return false;
  if (e.data && typeof e.data.message === 'string' && e.data.message.startsWith(REAUTH)) {
    api('POST', '/ui/session/logout').catch(() => {}).finally(() => location.assign('/login?reason=reauth'));
  } else {
    location.assign('/login?reason=expired');
  }
  return true;
}

export async function logout() {
  try { await api('POST', '/ui/session/logout'); } catch (e) { /* the cookie is cleared anyway */ }
  location.assign('/login');
}
