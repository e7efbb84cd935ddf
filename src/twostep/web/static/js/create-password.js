/* Activation: choose a password, then signed in (or sent to the forced setup). */

import { api } from './api.js';
import { $, busy, passwordPair, show } from './dom.js';
import { startPage } from './page.js';

startPage(function () {
  const form = $('#create-password-form');
  const token = new URLSearchParams(location.search).get('activateToken');
  if (!token) show($('.error', form), 'This activation link is incomplete. Open the link from your email again.');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const password = passwordPair(form, '#cp-password', '#cp-password2');
    if (password === null || !token) return;
    busy(form, true);
    try {
      const result = await api('POST', '/ui/session/activate', { activateToken: token, password: password });
      location.assign(result.next);
    } catch (e) {
      busy(form, false);
      show($('.error', form), e.message);
    }
  });
});
