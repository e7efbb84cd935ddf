/* Sign in: email and password, then on to wherever the server sends the session (the second
 * step, the forced setup, a password reset or home). */

import { api } from './api.js';
import { $, busy, show } from './dom.js';
import { startPage } from './page.js';

startPage(function () {
  const form = $('#login-form');
  const error = $('#login-error');
  const reason = new URLSearchParams(location.search).get('reason');
  const notices = {
    expired: 'Your session has ended. Please sign in again.',
    reauth: 'For your security, sign in again to make this change.',
    'password-reset': 'Your password has been reset. Please sign in with the new password.',
    'signed-out': 'You have signed out.',
  };
  show($('#login-notice'), notices[reason] || '');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show(error, '');
    const username = $('#username').value.trim();
    const password = $('#password').value;
    if (!username || !password) { show(error, 'Enter your email and password.'); return; }
    busy(form, true);
    try {
      const result = await api('POST', '/ui/session/login', { username: username, password: password });
      location.assign(result.next);
    } catch (e) {
      busy(form, false);
      if (e.data.resetToken) {
        location.assign('/login/resetPassword?expired=1&resetToken=' + encodeURIComponent(e.data.resetToken));
        return;
      }
      show(error, e.message);
      $('#password').focus();
    }
  });
});
