/* Sysadmin: lockout threshold and notification email, password length and expiry. */

import { api, sessionLost } from './api.js';
import { $, busy, intField, show } from './dom.js';
import { startPage } from './page.js';

startPage(async function () {
  const form = $('#security-settings');
  let current = null;
  try {
    current = await api('GET', '/api/admin/securitySettings');
  } catch (e) {
    if (!sessionLost(e)) show($('.error', form), e.message);
    return;
  }
  const policy = current.passwordPolicy || {};
  $('#max-failed-logins').value = current.maxFailedLoginAttempts == null ? '' : current.maxFailedLoginAttempts;
  $('#lockout-email').value = current.userLockoutNotificationEmail || '';
  $('#pw-min').value = policy.minimumLength == null ? '' : policy.minimumLength;
  $('#pw-expire').value = policy.passwordExpirationPeriodDays == null ? '' : policy.passwordExpirationPeriodDays;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show($('.error', form), ''); show($('.ok', form), '');
    const body = JSON.parse(JSON.stringify(current));
    body.maxFailedLoginAttempts = intField('#max-failed-logins');
    body.userLockoutNotificationEmail = $('#lockout-email').value.trim() || null;
    body.passwordPolicy = Object.assign({}, body.passwordPolicy || {}, {
      minimumLength: intField('#pw-min'),
      passwordExpirationPeriodDays: intField('#pw-expire'),
    });
    busy(form, true);
    try {
      current = await api('POST', '/api/admin/securitySettings', body);
      show($('.ok', form), 'Security settings saved.');
    } catch (e) {
      if (!sessionLost(e)) show($('.error', form), e.message);
    } finally {
      busy(form, false);
    }
  });
  $('button[type=submit]', form).disabled = false;
});
