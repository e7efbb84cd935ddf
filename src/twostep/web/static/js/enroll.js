/* The enrolment dialog of _enroll.html, shared by the Security page and the forced setup: the
 * steps of each method (authenticator app with the server-rendered QR code, SMS, email, backup
 * codes), the code check and the success step. */

import { api, sessionLost } from './api.js';
import { $, $$, busy, looksLikeEmail, show, toast } from './dom.js';

const SUCCESS = {
  TOTP: 'Authenticator app successfully enabled. The next time you log in, you will need to provide a two-factor authentication code.',
  SMS: 'SMS authentication successfully enabled. The next time you log in, you will need to provide a two-factor authentication code.',
  EMAIL: 'Email authentication successfully enabled. The next time you log in, you will need to provide a two-factor authentication code.',
};
const TITLES = {
  TOTP: 'Enable authenticator app', SMS: 'Enable SMS authenticator',
  EMAIL: 'Enable email authenticator', BACKUP_CODE: 'Get backup code',
};

export const Enroll = {
  start(type, opts) {
    const dlg = $('#enroll');
    this.dlg = dlg;
    this.type = type;
    this.opts = opts;
    this.saved = null;
    this.config = null;
    this.codes = [];
    $('#enroll-title', dlg).textContent = TITLES[type];
    $$('.error', dlg).forEach((el) => show(el, ''));
    $$('input', dlg).forEach((el) => { el.value = ''; });
    if (!this.wired) this.wire();
    dlg.showModal();
    if (type === 'TOTP') this.step('totp-app');
    else if (type === 'SMS') this.step('sms-phone');
    else if (type === 'EMAIL') {
      $('#email-address', dlg).value = opts.email || '';
      this.step('email-address');
    } else this.backup();
  },

  step(name) {
    this.current = name;
    $$('[data-step]', this.dlg).forEach((s) => { s.hidden = s.dataset.step !== name; });
    const section = $('[data-step="' + name + '"]', this.dlg);
    const target = $('input', section) || $('.primary', section);
    if (target) target.focus();
  },

  error(message) {
    const section = $('[data-step="' + this.current + '"]', this.dlg);
    show($('.error', section), message);
  },

  wire() {
    this.wired = true;
    const dlg = this.dlg;
    dlg.addEventListener('click', (ev) => {
      const button = ev.target.closest('[data-action]');
      if (!button || !dlg.contains(button)) return;
      const action = button.dataset.action;
      if (action === 'cancel' || action === 'done') dlg.close();
      else if (action === 'totp-next') this.totpGenerate(button);
      else if (action === 'copy-key') this.copyKey();
      else if (action === 'back') this.step(this.type === 'SMS' ? 'sms-phone' : 'email-address');
      else if (action === 'download') this.download();
      else if (action === 'print') window.print();
    });
    dlg.addEventListener('close', () => {
      if (this.saved && this.opts.onDone) this.opts.onDone(this.saved, this.type);
      else if (this.opts.onCancel) this.opts.onCancel();
    });
    $('[data-form="totp"]', dlg).addEventListener('submit', (ev) => { ev.preventDefault(); this.totpVerify(ev.target); });
    $('[data-form="sms-phone"]', dlg).addEventListener('submit', (ev) => { ev.preventDefault(); this.submitTarget(ev.target); });
    $('[data-form="email-address"]', dlg).addEventListener('submit', (ev) => { ev.preventDefault(); this.submitTarget(ev.target); });
    $('[data-form="code"]', dlg).addEventListener('submit', (ev) => { ev.preventDefault(); this.verifyCode(ev.target); });
  },

  async totpGenerate(button) {
    button.disabled = true;
    try {
      const generated = await api('POST', '/ui/totp/generate');
      this.config = { providerType: 'TOTP', useByDefault: !!this.opts.useByDefault, authUrl: generated.config.authUrl };
      // Server-rendered SVG (segno): parsed as XML and adopted, no HTML parsing of strings.
      const svg = new DOMParser().parseFromString(generated.qrSvg, 'image/svg+xml').documentElement;
      const holder = $('#totp-qr', this.dlg);
      holder.replaceChildren(document.importNode(svg, true));
      $('#totp-key', this.dlg).textContent = generated.secret;
      show($('#copy-status', this.dlg), '');
      this.step('totp-verify');
    } catch (e) {
      if (sessionLost(e)) return;
      this.error(e.message);
      toast(e.message);
    } finally {
      button.disabled = false;
    }
  },

  async copyKey() {
    const key = $('#totp-key', this.dlg).textContent;
    const status = $('#copy-status', this.dlg);
    try {
      await navigator.clipboard.writeText(key);
      show(status, 'Key copied.');
    } catch (e) {
      const range = document.createRange();
      range.selectNodeContents($('#totp-key', this.dlg));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      show(status, 'Key selected: press Ctrl+C to copy it.');
    }
  },

  async totpVerify(form) {
    const code = $('#totp-code', form).value.trim();
    if (!/^\d{6}$/.test(code)) { this.error('Enter the 6-digit code from your authenticator app.'); return; }
    await this.save(form, code);
  },

  async submitTarget(form) {
    this.error('');
    let config;
    if (this.type === 'SMS') {
      const phone = $('#sms-phone', form).value.replace(/[\s()-]/g, '');
      if (!/^\+[1-9]\d{1,14}$/.test(phone)) {
        this.error('Enter the phone number in international format, for example +12015550123.');
        return;
      }
      config = { providerType: 'SMS', useByDefault: !!this.opts.useByDefault, phoneNumber: phone };
      this.address = phone;
    } else {
      const email = $('#email-address', form).value.trim();
      if (!looksLikeEmail(email)) { this.error('Enter a valid email address.'); return; }
      config = { providerType: 'EMAIL', useByDefault: !!this.opts.useByDefault, email: email };
      this.address = email;
    }
    busy(form, true);
    try {
      await api('POST', '/api/2fa/account/config/submit', config);
      this.config = config;
      $('#code-sent-to', this.dlg).textContent = 'Enter a 6-digit code we just sent to ' + this.address + '.';
      $('#enroll-code', this.dlg).value = '';
      this.step('code');
    } catch (e) {
      if (sessionLost(e)) return;
      this.error(e.message);
    } finally {
      busy(form, false);
    }
  },

  async verifyCode(form) {
    const code = $('#enroll-code', form).value.trim();
    if (!/^\d{6}$/.test(code)) { this.error('Enter the 6-digit code we sent you.'); return; }
    await this.save(form, code);
  },

  async save(form, code) {
    this.error('');
    busy(form, true);
    try {
      this.saved = await api('POST', '/api/2fa/account/config?verificationCode=' + encodeURIComponent(code), this.config);
      $('#success-text', this.dlg).textContent = SUCCESS[this.type];
      this.step('success');
    } catch (e) {
      if (e.status === 400 && e.data.message === 'Verification code is incorrect') {
        this.error('Verification code is incorrect. Check the code and try again.');
      } else if (e.status === 429) {
        this.error('Too many requests to check verification code. Please wait and try again.');
      } else if (!sessionLost(e)) {
        this.error(e.message);
      }
    } finally {
      busy(form, false);
    }
  },

  async backup() {
    this.step('backup');
    const list = $('#backup-codes', this.dlg);
    list.replaceChildren();
    try {
      const generated = await api('POST', '/api/2fa/account/config/generate?providerType=BACKUP_CODE');
      this.saved = await api('POST', '/api/2fa/account/config', generated);
      this.codes = generated.codes;
      generated.codes.forEach((code) => {
        const li = document.createElement('li');
        const c = document.createElement('code');
        c.textContent = code;
        li.appendChild(c);
        list.appendChild(li);
      });
      $('[data-action="done"]', $('[data-step="backup"]', this.dlg)).focus();
    } catch (e) {
      if (sessionLost(e)) return;
      this.error(e.message);
      toast(e.message);
      this.dlg.close();
    }
  },

  download() {
    const blob = new Blob([this.codes.join('\n') + '\n'], { type: 'text/plain' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'backup-codes.txt';
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  },
};
