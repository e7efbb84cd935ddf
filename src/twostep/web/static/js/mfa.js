/* "Verify your identity": the second step with the default method preselected, SMS and email
 * codes sent on arrival with a resend countdown, "Try another way", and the fatal states
 * (lockout, disabled account, expiry). */

import { api, logout } from './api.js';
import { $, busy, show } from './dom.js';
import { NAMES, byOrder } from './methods.js';
import { startPage } from './page.js';

const DESCRIPTIONS = {
  TOTP: () => 'Please enter the security code from your authenticator app.',
  SMS: (p) => 'A security code has been sent to your phone at ' + p.contact + '.',
  EMAIL: (p) => 'A security code has been sent to your email address at ' + p.contact + '.',
  BACKUP_CODE: () => 'Please enter one of your backup codes.',
};
const CODE_LABELS = { TOTP: 'Code', SMS: 'SMS code', EMAIL: 'Email code', BACKUP_CODE: 'Backup code' };

startPage(async function () {
  const error = $('#mfa-error');
  const input = $('#mfa-code');
  const form = $('#mfa-form');
  let providers;
  let current = null;
  const previous = [];
  let timer = null;

  function fatal(message) {
    $('#mfa-verify').hidden = true;
    $('#mfa-choose').hidden = true;
    $('#mfa-fatal').hidden = false;
    $('#mfa-fatal-text').textContent = message;
    if (timer) clearInterval(timer);
  }

  function fatalFor(e) {
    const m = e.data.message || '';
    if (/locked/i.test(m)) {
      fatal('Your account has been locked because of too many failed verification attempts. Contact your administrator to unlock it.');
    } else if (/disabled/i.test(m)) {
      fatal('Your account is disabled. Contact your administrator.');
    } else if (e.data.errorCode === 11 || /expired/i.test(m)) {
      fatal('The time allowed for verification has run out. Please sign in again.');
    } else {
      fatal(e.message);
    }
  }

  // Wired before the methods load: before they do (or if they fail), Back signs out.
  $('#mfa-back').addEventListener('click', () => {
    if (!$('#mfa-choose').hidden) { $('#mfa-choose').hidden = true; $('#mfa-verify').hidden = false; input.focus(); return; }
    if (previous.length) { select(previous.pop()); return; }
    logout();
  });

  try {
    providers = await api('GET', '/api/auth/2fa/providers');
  } catch (e) {
    if (e.status === 401 || e.status === 403) fatalFor(e); else fatal(e.message);
    return;
  }
  providers.sort((a, b) => byOrder(a.type, b.type));
  if (!providers.length) { fatal('No verification method is set up for this account.'); return; }

  function countdown(seconds) {
    if (timer) clearInterval(timer);
    const text = $('#mfa-countdown');
    const resend = $('#mfa-resend-btn');
    resend.hidden = true;
    $('#mfa-resend-ready').textContent = '';
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        clearInterval(timer);
        timer = null;
        text.textContent = '';
        resend.hidden = false;
        $('#mfa-resend-ready').textContent = 'You can now ask for a new code.';
        return;
      }
      text.textContent = 'Resend code in ' + left + ' seconds';
      left -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  async function send() {
    $('#mfa-resend').hidden = false;
    $('#mfa-resend-btn').hidden = true;
    try {
      await api('POST', '/api/auth/2fa/verification/send?providerType=' + current.type);
    } catch (e) {
      if (e.status === 429) show(error, 'A code was sent a moment ago. You can ask for a new one when the countdown ends.');
      else if (e.status === 401) { fatalFor(e); return; } else show(error, e.message);
    }
    countdown(current.minVerificationCodeSendPeriod || 30);
  }

  async function select(provider) {
    current = provider;
    $('#mfa-choose').hidden = true;
    $('#mfa-verify').hidden = false;
    show(error, '');
    $('#mfa-description').textContent = DESCRIPTIONS[provider.type](provider);
    $('#mfa-code-label').textContent = CODE_LABELS[provider.type];
    input.value = '';
    if (provider.type === 'BACKUP_CODE') {
      input.setAttribute('inputmode', 'text');
      input.setAttribute('maxlength', '40');
      input.setAttribute('autocomplete', 'off');
    } else {
      input.setAttribute('inputmode', 'numeric');
      input.setAttribute('maxlength', '6');
      input.setAttribute('autocomplete', 'one-time-code');
    }
    $('#mfa-other').hidden = providers.length < 2;
    if (timer) { clearInterval(timer); timer = null; }
    $('#mfa-resend').hidden = true;
    input.focus();
    if (provider.type === 'SMS' || provider.type === 'EMAIL') await send();
  }

  function choose() {
    $('#mfa-verify').hidden = true;
    const list = $('#mfa-methods');
    list.replaceChildren();
    providers.forEach((p) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.provider = p.type;
      b.textContent = NAMES[p.type] + (p.contact ? ' (' + p.contact + ')' : '');
      b.addEventListener('click', () => { previous.push(current); select(p); });
      li.appendChild(b);
      list.appendChild(li);
    });
    $('#mfa-choose').hidden = false;
    $('button', list).focus();
  }

  $('#mfa-other').addEventListener('click', choose);
  $('#mfa-resend-btn').addEventListener('click', send);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show(error, '');
    let code = input.value.trim();
    if (current.type === 'BACKUP_CODE') code = code.toLowerCase().replace(/[\s-]/g, '');
    if (current.type === 'BACKUP_CODE' ? !/^[0-9a-f]{8,32}$/.test(code) : !/^\d{6}$/.test(code)) {
      show(error, current.type === 'BACKUP_CODE' ? 'Enter one of your backup codes (digits and the letters a to f).' : 'Enter the 6-digit code.');
      input.focus();
      return;
    }
    busy(form, true);
    try {
      const result = await api('POST', '/ui/session/verify', { providerType: current.type, verificationCode: code });
      location.assign(result.next);
      return;
    } catch (e) {
      if (e.status === 400 && e.data.message === 'Verification code is incorrect') {
        show(error, current.type === 'SMS' || current.type === 'EMAIL'
          ? 'Verification code is incorrect or has expired. Check the code, or ask for a new one.'
          : 'Verification code is incorrect. Check the code and try again.');
      } else if (e.status === 429) {
        show(error, 'Too many requests to check verification code. Please wait and try again.');
        setTimeout(() => show(error, ''), 5000);
      } else if (e.status === 401) {
        fatalFor(e);
      } else {
        show(error, e.message);
      }
    }
    busy(form, false);
    input.select();
  });

  const preferred = providers.find((p) => p.default) || providers[0];
  select(preferred);
});
