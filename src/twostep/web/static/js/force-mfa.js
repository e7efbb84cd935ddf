/* Forced setup when 2FA is enforced: set up a method (or another one), then log in. */

import { api, logout } from './api.js';
import { $, show } from './dom.js';
import { Enroll } from './enroll.js';
import { NAMES, byOrder } from './methods.js';
import { startPage } from './page.js';

startPage(async function () {
  const card = $('#force');
  const error = $('#force-error');
  $('#force-cancel').addEventListener('click', logout);
  let types = [];
  let settings = null;
  try {
    types = (await api('GET', '/api/2fa/providers')).slice().sort(byOrder);
    settings = await api('GET', '/api/2fa/account/settings');
  } catch (e) {
    if (e.status === 401) { location.assign('/login?reason=expired'); return; }
    show(error, e.message);
    return;
  }
  function render() {
    const configured = settings && settings.configs ? Object.keys(settings.configs) : [];
    $('#force-title').textContent = configured.length ? 'Two-factor authentication' : 'Two-factor authentication is required';
    $('#force-text').textContent = configured.length
      ? 'Set up another verification method or log in.'
      : 'Set up a verification method to continue.';
    const list = $('#force-methods');
    list.replaceChildren();
    const hasMain = configured.some((t) => t !== 'BACKUP_CODE');
    types.forEach((type) => {
      if (type === 'BACKUP_CODE' && !hasMain) return;
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.provider = type;
      b.textContent = NAMES[type] + (configured.includes(type) ? ' (set up)' : '');
      b.disabled = configured.includes(type);
      b.addEventListener('click', () => {
        Enroll.start(type, {
          useByDefault: !hasMain,
          email: card.dataset.email,
          onDone: (saved) => { settings = saved; render(); $('#force-login').focus(); },
        });
      });
      li.appendChild(b);
      list.appendChild(li);
    });
    $('#force-login').hidden = !configured.length;
  }
  render();
  $('#force-login').addEventListener('click', async () => {
    try {
      const result = await api('POST', '/ui/session/config-login');
      location.assign(result.next);
    } catch (e) {
      show(error, e.message);
    }
  });
});
