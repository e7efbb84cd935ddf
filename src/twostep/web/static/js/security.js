/* Account security: one row per 2FA method the sysadmin enabled (enable, main method, disable,
 * new backup codes), the sign-ins card and the password change. */

import { api, sessionLost } from './api.js';
import { confirmDialog } from './confirm.js';
import { $, busy, show } from './dom.js';
import { Enroll } from './enroll.js';
import { NAMES, byOrder } from './methods.js';
import { startPage } from './page.js';
import { wireSessionsCard } from './sign-ins.js';

const ROW_TEXT = {
  TOTP: 'Use an authenticator app on your phone to get the security codes.',
  SMS: 'Get the security codes by text message to your phone.',
  EMAIL: 'Get the security codes by email.',
  BACKUP_CODE: 'Single-use codes for when you cannot use your other methods.',
};
const ACTIVE_TEXT = {
  TOTP: () => 'Authenticator app is set up for your account',
  SMS: (c) => 'Authentication codes are sent by text message to ' + c.phoneNumber,
  EMAIL: (c) => 'Authentication codes are sent via email to ' + c.email,
  BACKUP_CODE: (c) => c.codesLeft + ' single-use codes are active at this time',
};

function wirePasswordForm() {
  const form = $('#password-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('.error', form);
    const ok = $('.ok', form);
    show(err, ''); show(ok, '');
    const current = $('#current-password').value;
    const next = $('#new-password').value;
    if (!current || !next) { show(err, 'Enter your current password and the new one.'); return; }
    if (next !== $('#new-password2').value) { show(err, 'The new passwords do not match.'); return; }
    busy(form, true);
    try {
      await api('POST', '/ui/session/change-password', { currentPassword: current, newPassword: next });
      form.reset();
      show(ok, 'Your password has been changed.');
    } catch (e) {
      if (e.status === 401) sessionLost(e); else show(err, e.message);
    } finally {
      busy(form, false);
    }
  });
}

startPage(async function () {
  const signIns = wireSessionsCard();
  wirePasswordForm();
  const error = $('#twofa-error');
  let types = [];
  let settings = null;
  try {
    types = (await api('GET', '/api/2fa/providers')).slice().sort(byOrder);
    settings = await api('GET', '/api/2fa/account/settings');
  } catch (e) {
    if (sessionLost(e)) return;
    show(error, e.message);
  }
  $('#twofa-card').hidden = !types.length;
  $('#twofa-none').hidden = !!types.length;

  function render() {
    const configs = (settings && settings.configs) || {};
    const active = Object.keys(configs);
    const activeMain = active.filter((t) => t !== 'BACKUP_CODE');
    const rows = $('#twofa-rows');
    rows.replaceChildren();
    types.forEach((type) => {
      const row = $('#row-template').content.firstElementChild.cloneNode(true);
      const config = configs[type];
      row.dataset.provider = type;
      $('.row-name', row).textContent = NAMES[type];
      const toggle = $('.row-toggle', row);
      toggle.id = 'toggle-' + type;
      toggle.checked = !!config;
      toggle.setAttribute('aria-label', NAMES[type]);
      $('.row-state', row).textContent = config ? 'On' : 'Off';
      $('.row-text', row).textContent = config ? ACTIVE_TEXT[type](config) : ROW_TEXT[type];
      if (type === 'BACKUP_CODE' && !activeMain.length && !config) toggle.disabled = true;
      toggle.addEventListener('change', () => onToggle(type, toggle));
      if (type !== 'BACKUP_CODE' && config && activeMain.length >= 2) {
        const label = $('.row-default', row);
        const box = $('.row-default-box', row);
        label.hidden = false;
        box.checked = !!config.useByDefault;
        box.addEventListener('change', () => setDefault(type, box));
      }
      if (type === 'BACKUP_CODE' && config) {
        const button = $('.row-newcodes', row);
        button.hidden = false;
        button.addEventListener('click', () => newCodes(config));
      }
      rows.appendChild(row);
    });
  }

  async function onToggle(type, toggle) {
    show(error, '');
    const turnOn = toggle.checked;
    toggle.checked = !turnOn; // the row changes only once the server agrees
    if (turnOn) {
      Enroll.start(type, {
        useByDefault: type !== 'BACKUP_CODE',
        email: document.body.dataset.email,
        onDone: (saved) => { settings = saved; render(); $('#toggle-' + type).focus(); },
        onCancel: () => toggle.focus(),
      });
      return;
    }
    const name = NAMES[type];
    const ok = await confirmDialog('Are you sure you want to disable ' + name + '?',
      'Disabling ' + name + ' will make your account less secure.', 'Disable');
    if (!ok) { toggle.focus(); return; }
    try {
      settings = await api('DELETE', '/api/2fa/account/config?providerType=' + type);
      render();
      const again = $('#toggle-' + type);
      if (again) again.focus();
    } catch (e) {
      if (!sessionLost(e)) show(error, e.message);
    }
  }

  async function setDefault(type, box) {
    try {
      settings = await api('PUT', '/api/2fa/account/config?providerType=' + type, { useByDefault: box.checked });
      render();
    } catch (e) {
      if (!sessionLost(e)) show(error, e.message);
      box.checked = !box.checked;
    }
  }

  async function newCodes(config) {
    if (config.codesLeft > 0) {
      const ok = await confirmDialog('Get new set of backup codes?',
        'If you get new backup codes, ' + config.codesLeft + ' remaining codes you have left will be unusable.', 'Get new codes');
      if (!ok) return;
    }
    try {
      settings = await api('DELETE', '/api/2fa/account/config?providerType=BACKUP_CODE');
      render();
      Enroll.start('BACKUP_CODE', { onDone: (saved) => { settings = saved; render(); } });
    } catch (e) {
      if (!sessionLost(e)) show(error, e.message);
    }
  }

  render();
  await signIns;
});
