/* Choose a new password from the emailed reset link (also when the password expired). */

import { api } from './api.js';
import { $, busy, passwordPair, show } from './dom.js';
import { startPage } from './page.js';

startPage(function () {
  const form = $('#reset-password-form');
  const params = new URLSearchParams(location.search);
  const token = params.get('resetToken');
  if (params.get('expired')) $('#rp-intro').textContent = 'Your password has expired. Choose a new password.';
  if (!token) show($('.error', form), 'This password reset link is incomplete. Open the link from your email again.');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const password = passwordPair(form, '#rp-password', '#rp-password2');
    if (password === null || !token) return;
    busy(form, true);
    try {
      await api('POST', '/api/noauth/resetPassword', { resetToken: token, password: password });
      location.assign('/login?reason=password-reset');
    } catch (e) {
      busy(form, false);
      show($('.error', form), e.message);
    }
  });
});
