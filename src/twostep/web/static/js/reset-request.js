/* Ask for a password reset email. */

import { api } from './api.js';
import { $, busy, looksLikeEmail, show } from './dom.js';
import { startPage } from './page.js';

startPage(function () {
  const form = $('#reset-request-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const email = $('#rr-email').value.trim();
    show($('.error', form), ''); show($('.ok', form), '');
    if (!looksLikeEmail(email)) { show($('.error', form), 'Enter a valid email address.'); return; }
    busy(form, true);
    try {
      await api('POST', '/api/noauth/resetPasswordByEmail', { email: email });
      show($('.ok', form), 'If an account exists for this address, a password reset link is on its way.');
    } catch (e) {
      show($('.error', form), e.message);
    } finally {
      busy(form, false);
    }
  });
});
