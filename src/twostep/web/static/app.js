/* twostep web UI: one small script, no framework. It talks to the JSON API with fetch.
 * The session token is in an HttpOnly cookie this script cannot read; every request carries the
 * CSRF token from the readable ts_csrf cookie in the X-CSRF-Token header (see docs/ui-security.md).
 * All text goes into the page with textContent, never innerHTML. */
'use strict';
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const ORDER = ['TOTP', 'SMS', 'EMAIL', 'BACKUP_CODE'];
  const NAMES = { TOTP: 'Authenticator app', SMS: 'SMS', EMAIL: 'Email', BACKUP_CODE: 'Backup code' };
  const byOrder = (a, b) => ORDER.indexOf(a) - ORDER.indexOf(b);

  // ---------------------------------------------------------------- API access and messages
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

  class ApiError extends Error {
    constructor(status, data) {
      super(messageFor(status, data));
      this.status = status;
      this.data = data && typeof data === 'object' ? data : {};
    }
  }

  async function api(method, url, body) {
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

  function show(el, message) {
    if (!el) return;
    el.textContent = message || '';
    el.hidden = !message;
  }

  function toast(message) {
    const el = $('#toast');
    show(el, message);
    if (message) setTimeout(() => show(el, ''), 8000);
  }

  // On pages behind a full session, a 401 means the session is gone: back to sign in. For a
  // change of 2FA (or of an email address) it can also mean that the sign-in is too old: that
  // session is ended first (the sign-in page sends a live session home), then the user signs in
  // again.
  const REAUTH = 'Sign in again to change ';
  function sessionLost(e) {
    if (!(e instanceof ApiError && e.status === 401)) return false;
    if (e.data && typeof e.data.message === 'string' && e.data.message.startsWith(REAUTH)) {
      api('POST', '/ui/session/logout').catch(() => {}).finally(() => location.assign('/login?reason=reauth'));
    } else {
      location.assign('/login?reason=expired');
    }
    return true;
  }

  function busy(form, on) {
    $$('button, input, select', form).forEach((el) => {
      if (on) { el.dataset.wasDisabled = el.disabled ? '1' : ''; el.disabled = true; } else if (el.dataset.wasDisabled !== undefined) { el.disabled = el.dataset.wasDisabled === '1'; delete el.dataset.wasDisabled; }
    });
  }

  async function logout() {
    try { await api('POST', '/ui/session/logout'); } catch (e) { /* the cookie is cleared anyway */ }
    location.assign('/login');
  }

  // ---------------------------------------------------------------- confirm dialog
  function confirmDialog(title, text, yesLabel) {
    const dlg = $('#confirm');
    $('#confirm-title', dlg).textContent = title;
    $('#confirm-text', dlg).textContent = text;
    $('[data-action="confirm-yes"]', dlg).textContent = yesLabel || 'Yes';
    return new Promise((resolve) => {
      const yes = $('[data-action="confirm-yes"]', dlg);
      const no = $('[data-action="confirm-no"]', dlg);
      let answer = false;
      const done = () => {
        yes.removeEventListener('click', onYes);
        no.removeEventListener('click', onNo);
        dlg.removeEventListener('close', done);
        resolve(answer);
      };
      const onYes = () => { answer = true; dlg.close(); };
      const onNo = () => { dlg.close(); };
      yes.addEventListener('click', onYes);
      no.addEventListener('click', onNo);
      dlg.addEventListener('close', done);
      dlg.showModal();
      no.focus();
    });
  }

  // ---------------------------------------------------------------- enrollment dialog (shared)
  const SUCCESS = {
    TOTP: 'Authenticator app successfully enabled. The next time you log in, you will need to provide a two-factor authentication code.',
    SMS: 'SMS authentication successfully enabled. The next time you log in, you will need to provide a two-factor authentication code.',
    EMAIL: 'Email authentication successfully enabled. The next time you log in, you will need to provide a two-factor authentication code.',
  };
  const TITLES = {
    TOTP: 'Enable authenticator app', SMS: 'Enable SMS authenticator',
    EMAIL: 'Enable email authenticator', BACKUP_CODE: 'Get backup code',
  };

  const Enroll = {
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
        if (!/^[^\s@]+@[^\s@]+$/.test(email)) { this.error('Enter a valid email address.'); return; }
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

  // ---------------------------------------------------------------- pages
  const pages = {};

  pages.login = function () {
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
  };

  const DESCRIPTIONS = {
    TOTP: () => 'Please enter the security code from your authenticator app.',
    SMS: (p) => 'A security code has been sent to your phone at ' + p.contact + '.',
    EMAIL: (p) => 'A security code has been sent to your email address at ' + p.contact + '.',
    BACKUP_CODE: () => 'Please enter one of your backup codes.',
  };
  const CODE_LABELS = { TOTP: 'Code', SMS: 'SMS code', EMAIL: 'Email code', BACKUP_CODE: 'Backup code' };

  pages.mfa = async function () {
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
  };

  pages['force-mfa'] = async function () {
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
  };

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

  // ASVS 7.5.2: the user sees each sign-in and can end any of them, or all but this one (also
  // offered after a change of 2FA, ASVS 7.4.3). Wired before the 2FA settings load (the page's
  // first await), so its data-wired button works as soon as it is enabled.
  function wireSessionsCard() {
    const list = $('#sign-ins');
    const others = $('#logout-others');
    const error = $('#sessions-error');
    const ok = $('#sessions-ok');

    async function load() {
      let found;
      try {
        found = await api('GET', '/api/auth/sessions');
      } catch (e) {
        if (!sessionLost(e)) show(error, e.message);
        return;
      }
      list.replaceChildren();
      found.forEach((s) => {
        const li = document.createElement('li');
        li.className = 'row';
        const main = document.createElement('div');
        main.className = 'row-main';
        const name = document.createElement('span');
        name.className = 'row-name';
        name.textContent = s.device;
        main.appendChild(name);
        const when = new Date(s.signedInTime).toLocaleString();
        if (s.current) {
          const here = document.createElement('span');
          here.className = 'row-here';
          here.textContent = 'This browser';
          main.appendChild(here);
        } else {
          const end = document.createElement('button');
          end.type = 'button';
          end.textContent = 'Sign out';
          end.setAttribute('aria-label', 'Sign out ' + name.textContent + ', signed in ' + when);
          end.addEventListener('click', () => endOne(s, name.textContent, end));
          main.appendChild(end);
        }
        li.appendChild(main);
        const text = document.createElement('p');
        text.className = 'row-text';
        text.textContent = 'Signed in ' + when + (s.ip ? ' from ' + s.ip : '');
        li.appendChild(text);
        list.appendChild(li);
      });
    }

    async function endOne(s, name, button) {
      show(error, ''); show(ok, '');
      button.disabled = true;
      try {
        await api('DELETE', '/api/auth/sessions/' + encodeURIComponent(s.id));
        show(ok, 'Signed out ' + name + '.');
      } catch (e) {
        if (sessionLost(e)) return;
        show(error, e.status === 404 ? 'That sign-in has already ended.' : e.message);
      }
      await load();
    }

    others.addEventListener('click', async () => {
      show(error, ''); show(ok, '');
      others.disabled = true;
      try {
        const ended = (await api('POST', '/api/auth/logoutOthers')).endedSessions;
        show(ok, ended === 0 ? 'There were no other sessions.'
          : 'Signed out of ' + ended + (ended === 1 ? ' other session.' : ' other sessions.'));
      } catch (e) {
        if (!sessionLost(e)) show(error, e.message);
      } finally {
        others.disabled = false;
      }
      await load();
    });
    return load();
  }

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

  pages.security = async function () {
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
  };

  function passwordPair(form, first, second) {
    const err = $('.error', form);
    show(err, '');
    const password = $(first).value;
    if (!password) { show(err, 'Enter a password.'); return null; }
    if (password !== $(second).value) { show(err, 'The passwords do not match.'); return null; }
    return password;
  }

  pages['create-password'] = function () {
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
  };

  pages['reset-password'] = function () {
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
  };

  pages['reset-request'] = function () {
    const form = $('#reset-request-form');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const email = $('#rr-email').value.trim();
      show($('.error', form), ''); show($('.ok', form), '');
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) { show($('.error', form), 'Enter a valid email address.'); return; }
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
  };

  // ---------------------------------------------------------------- sysadmin: 2FA settings form
  function intField(id) {
    const raw = $(id).value.trim();
    return /^-?\d+$/.test(raw) ? parseInt(raw, 10) : null;
  }

  pages['admin-2fa'] = async function () {
    const form = $('#twofa-settings');
    const toggles = { TOTP: '#p-totp', SMS: '#p-sms', EMAIL: '#p-email', BACKUP_CODE: '#p-backup' };
    let listsLoaded = false;

    function sync() {
      $('#enforce-panel').hidden = !$('#enforce').checked;
      const tenants = $('#enforce-for').value === 'TENANT_ADMINISTRATORS';
      $('#enforce-tenants').hidden = !tenants;
      Object.keys(toggles).forEach((type) => {
        const box = $(toggles[type]);
        $('.provider-fields', box.closest('.provider')).hidden = !box.checked;
      });
      const others = ['TOTP', 'SMS', 'EMAIL'].some((t) => $(toggles[t]).checked);
      const backup = $(toggles.BACKUP_CODE);
      if (!others) { backup.checked = false; $('.provider-fields', backup.closest('.provider')).hidden = true; }
      backup.disabled = !others;
      $('#rate-limit-fields').hidden = !$('#rate-limit').checked;
      const anyProvider = Object.keys(toggles).some((t) => $(toggles[t]).checked);
      show($('#providers-error'), $('#enforce').checked && !anyProvider ? 'At least one 2FA provider should be configured.' : '');
      if (tenants && $('#enforce').checked) loadLists();
    }

    let tenantOptions = [];
    let profileOptions = [];
    let selected = { tenant: [], profile: [] };
    async function loadLists() {
      if (listsLoaded) return;
      listsLoaded = true;
      try {
        const tenants = await api('GET', '/api/tenants?pageSize=1000&page=0&sortProperty=title&sortOrder=ASC');
        tenantOptions = tenants.data.map((t) => ({ id: t.id.id, label: t.title }));
        const profiles = await api('GET', '/api/tenantProfiles?pageSize=1000&page=0');
        profileOptions = profiles.data.map((p) => ({ id: p.id.id, label: p.name }));
      } catch (e) {
        if (!sessionLost(e)) show($('#settings-error'), e.message);
      }
      fillList();
    }
    function by() { return $('input[name="enforce-by"]:checked').value; }
    function fillList() {
      const list = $('#enforce-list');
      const options = by() === 'tenant' ? tenantOptions : profileOptions;
      $('#enforce-list-label').textContent = by() === 'tenant' ? 'Tenants' : 'Tenant profiles';
      list.replaceChildren();
      options.forEach((o) => {
        const opt = document.createElement('option');
        opt.value = o.id;
        opt.textContent = o.label;
        opt.selected = selected[by()].includes(o.id);
        list.appendChild(opt);
      });
    }

    function load(s) {
      const providers = {};
      ((s && s.providers) || []).forEach((p) => { providers[p.providerType] = p; });
      $('#p-totp').checked = !!providers.TOTP;
      if (providers.TOTP) $('#totp-issuer').value = providers.TOTP.issuerName || '';
      $('#p-sms').checked = !!providers.SMS;
      if (providers.SMS) {
        $('#sms-template').value = providers.SMS.smsVerificationMessageTemplate || '';
        $('#sms-lifetime').value = providers.SMS.verificationCodeLifetime;
      }
      $('#p-email').checked = !!providers.EMAIL;
      if (providers.EMAIL) $('#email-lifetime').value = providers.EMAIL.verificationCodeLifetime;
      $('#p-backup').checked = !!providers.BACKUP_CODE;
      if (providers.BACKUP_CODE) $('#backup-quantity').value = providers.BACKUP_CODE.codesQuantity;
      if (s) {
        $('#total-time').value = s.totalAllowedTimeForVerification;
        $('#retry-period').value = s.minVerificationCodeSendPeriod;
        $('#max-failures').value = s.maxVerificationFailuresBeforeUserLockout == null ? 0 : s.maxVerificationFailuresBeforeUserLockout;
        const limit = s.verificationCodeCheckRateLimit;
        $('#rate-limit').checked = !!limit;
        if (limit) {
          const parts = limit.split(':');
          $('#rate-attempts').value = parts[0];
          $('#rate-within').value = parts[1];
        }
        $('#enforce').checked = !!s.enforceTwoFa;
        const filter = s.enforcedUsersFilter;
        if (filter && filter.type) {
          $('#enforce-for').value = filter.type;
          if (filter.type === 'TENANT_ADMINISTRATORS') {
            const profiles = filter.tenantProfilesIds && filter.tenantProfilesIds.length && !(filter.tenantsIds && filter.tenantsIds.length);
            $('input[name="enforce-by"][value="' + (profiles ? 'profile' : 'tenant') + '"]').checked = true;
            selected = { tenant: filter.tenantsIds || [], profile: filter.tenantProfilesIds || [] };
          }
        }
      }
      sync();
    }

    function fieldError(id, message) {
      show($(id + '-error'), message);
      const input = $(id);
      if (message) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
      return message ? 1 : 0;
    }

    function build() {
      let problems = 0;
      $$('.provider .error, fieldset > .field .error, #rate-limit-fields .error', form).forEach((el) => show(el, ''));
      const providers = [];
      if ($('#p-totp').checked) {
        const issuer = $('#totp-issuer').value;
        problems += fieldError('#totp-issuer', issuer.trim() ? '' : 'Issuer name is required.');
        providers.push({ providerType: 'TOTP', issuerName: issuer.trim() });
      }
      if ($('#p-sms').checked) {
        const template = $('#sms-template').value;
        let message = '';
        if (!template.trim()) message = 'Verification message template is required.';
        else if (!template.includes('${code}')) message = 'Verification message template must contain the verification code ${code}.';
        else if (/[\r\n]/.test(template)) message = 'Verification message template must be a single line.';
        problems += fieldError('#sms-template', message);
        const lifetime = intField('#sms-lifetime');
        problems += fieldError('#sms-lifetime', lifetime !== null && lifetime >= 1 ? '' : 'Verification code lifetime is required and must be at least 1 second.');
        providers.push({ providerType: 'SMS', smsVerificationMessageTemplate: template, verificationCodeLifetime: lifetime });
      }
      if ($('#p-email').checked) {
        const lifetime = intField('#email-lifetime');
        problems += fieldError('#email-lifetime', lifetime !== null && lifetime >= 1 ? '' : 'Verification code lifetime is required and must be at least 1 second.');
        providers.push({ providerType: 'EMAIL', verificationCodeLifetime: lifetime });
      }
      if ($('#p-backup').checked) {
        const quantity = intField('#backup-quantity');
        problems += fieldError('#backup-quantity', quantity !== null && quantity >= 1 ? '' : 'Number of codes must be greater than 0.');
        providers.push({ providerType: 'BACKUP_CODE', codesQuantity: quantity });
      }
      const total = intField('#total-time');
      problems += fieldError('#total-time', total !== null && total >= 60 ? '' : 'Total allowed time for verification must be at least 60 seconds.');
      const retry = intField('#retry-period');
      problems += fieldError('#retry-period', retry !== null && retry >= 5 ? '' : 'Retry verification code period must be at least 5 seconds.');
      const failures = intField('#max-failures');
      problems += fieldError('#max-failures', failures !== null && failures >= 0 && failures <= 65535 ? '' : 'Max verification failures before user lockout must be a number from 0 to 65535.');
      let limit = null;
      if ($('#rate-limit').checked) {
        const attempts = intField('#rate-attempts');
        const within = intField('#rate-within');
        problems += fieldError('#rate-attempts', attempts !== null && attempts >= 1 ? '' : 'Number of checking attempts must be at least 1.');
        problems += fieldError('#rate-within', within !== null && within >= 1 ? '' : 'Within time must be at least 1 second.');
        limit = attempts + ':' + within;
      }
      const enforce = $('#enforce').checked;
      if (enforce && !providers.length) problems += 1;
      let filter = null;
      if (enforce) {
        const type = $('#enforce-for').value;
        filter = { type: type };
        if (type === 'TENANT_ADMINISTRATORS') {
          const ids = Array.from($('#enforce-list').selectedOptions).map((o) => o.value);
          filter.tenantsIds = by() === 'tenant' ? ids : null;
          filter.tenantProfilesIds = by() === 'profile' ? ids : null;
        }
      }
      if (problems) return null;
      return {
        providers: providers,
        minVerificationCodeSendPeriod: retry,
        verificationCodeCheckRateLimit: limit,
        maxVerificationFailuresBeforeUserLockout: failures,
        totalAllowedTimeForVerification: total,
        enforceTwoFa: enforce,
        enforcedUsersFilter: filter,
      };
    }

    ['#enforce', '#enforce-for', '#p-totp', '#p-sms', '#p-email', '#p-backup', '#rate-limit'].forEach((id) => $(id).addEventListener('change', sync));
    $$('input[name="enforce-by"]').forEach((r) => r.addEventListener('change', () => { fillList(); }));
    $('#enforce-list').addEventListener('change', () => {
      selected[by()] = Array.from($('#enforce-list').selectedOptions).map((o) => o.value);
    });

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      show($('#settings-error'), '');
      show($('#settings-ok'), '');
      sync();
      const body = build();
      if (!body) {
        show($('#settings-error'), 'Please correct the highlighted fields.');
        const bad = $('[aria-invalid="true"]', form);
        if (bad) bad.focus();
        return;
      }
      busy(form, true);
      try {
        load(await api('POST', '/api/2fa/settings', body));
        show($('#settings-ok'), 'Two-factor authentication settings saved.');
      } catch (e) {
        if (!sessionLost(e)) show($('#settings-error'), e.message);
      } finally {
        busy(form, false);
        sync();
      }
    });

    // Save stays disabled until the current settings are in the form: saving a blank or
    // half-loaded form would overwrite them.
    try {
      load(await api('GET', '/api/2fa/settings'));
      $('button[type=submit]', form).disabled = false;
    } catch (e) {
      if (!sessionLost(e)) show($('#settings-error'), e.message);
    }
  };

  // ---------------------------------------------------------------- sysadmin: security settings
  pages['admin-security'] = async function () {
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
  };

  // ---------------------------------------------------------------- sysadmin: tenants, admins
  function cell(row, text) {
    const td = document.createElement('td');
    if (text instanceof Node) td.appendChild(text); else td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function button(label, onClick, extra) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (extra) b.setAttribute('aria-label', extra);
    b.addEventListener('click', onClick);
    return b;
  }

  pages['admin-tenants'] = async function () {
    let tenant = null;
    const tenantsBody = $('#tenants-table tbody');
    const adminsError = $('#admins-error');
    const adminsOk = $('#admins-ok');

    async function loadTenants() {
      try {
        const page = await api('GET', '/api/tenants?pageSize=100&page=0&sortProperty=title&sortOrder=ASC');
        tenantsBody.replaceChildren();
        page.data.forEach((t) => {
          const tr = document.createElement('tr');
          cell(tr, t.title);
          cell(tr, new Date(t.createdTime).toLocaleString());
          cell(tr, button('Administrators', () => openTenant(t), 'Administrators of ' + t.title));
          tenantsBody.appendChild(tr);
        });
      } catch (e) {
        if (!sessionLost(e)) toast(e.message);
      }
    }

    async function openTenant(t) {
      tenant = t;
      $('#admins-card').hidden = false;
      $('#admins-title').textContent = 'Tenant administrators of ' + t.title;
      show(adminsError, ''); show(adminsOk, '');
      $('#activation-link').hidden = true;
      await loadAdmins();
      $('#admins-title').scrollIntoView();
    }

    async function loadAdmins() {
      const body = $('#admins-table tbody');
      try {
        const page = await api('GET', '/api/tenant/' + tenant.id.id + '/users?pageSize=100&page=0&sortProperty=email&sortOrder=ASC');
        const details = await Promise.all(page.data.map((u) => api('GET', '/api/user/' + u.id.id)));
        body.replaceChildren();
        details.forEach((u) => {
          const info = u.additionalInfo || {};
          const enabled = !!info.userCredentialsEnabled;
          const tr = document.createElement('tr');
          tr.dataset.email = u.email;
          cell(tr, u.email);
          cell(tr, enabled ? 'Active' : (info.userActivated ? 'Locked or disabled' : 'Not activated'));
          const actions = cell(tr, '');
          actions.className = 'actions-cell';
          if (info.userActivated) {
            actions.appendChild(enabled
              ? button('Disable', () => setEnabled(u, false), 'Disable ' + u.email)
              : button('Unlock', () => setEnabled(u, true), 'Unlock ' + u.email));
          }
          actions.appendChild(button('Reset 2FA', () => resetTwoFa(u), 'Reset two-factor authentication of ' + u.email));
          if (enabled) actions.appendChild(button('Sign out everywhere', () => signOutEverywhere(u), 'Sign out ' + u.email + ' everywhere'));
          body.appendChild(tr);
        });
      } catch (e) {
        if (!sessionLost(e)) show(adminsError, e.message);
      }
    }

    async function setEnabled(u, on) {
      show(adminsError, ''); show(adminsOk, '');
      try {
        await api('POST', '/api/user/' + u.id.id + '/userCredentialsEnabled?userCredentialsEnabled=' + on);
        show(adminsOk, on ? u.email + ' is unlocked and can sign in again.' : u.email + ' is disabled.');
        await loadAdmins();
      } catch (e) {
        if (!sessionLost(e)) show(adminsError, e.message);
      }
    }

    async function signOutEverywhere(u) {
      show(adminsError, ''); show(adminsOk, '');
      try {
        const ended = (await api('POST', '/api/user/' + u.id.id + '/logoutAll')).endedSessions;
        show(adminsOk, ended ? u.email + ' is signed out everywhere (' + ended + (ended === 1 ? ' session).' : ' sessions).')
          : u.email + ' was not signed in anywhere.');
      } catch (e) {
        if (!sessionLost(e)) show(adminsError, e.message);
      }
    }

    async function resetTwoFa(u) {
      show(adminsError, ''); show(adminsOk, '');
      const ok = await confirmDialog('Reset two-factor authentication of ' + u.email + '?',
        'All verification methods of this user are removed. They sign in with the password alone (or must set up 2FA again if it is enforced).', 'Reset');
      if (!ok) return;
      try {
        const current = await api('GET', '/api/2fa/' + u.id.id + '/settings');
        const types = Object.keys((current && current.configs) || {}).sort(byOrder);
        for (const type of types) {
          try {
            await api('DELETE', '/api/2fa/' + u.id.id + '/config?providerType=' + type);
          } catch (e) {
            if (e.status !== 400) throw e; // a backup code already removed with the last method
          }
        }
        show(adminsOk, types.length ? 'Two-factor authentication of ' + u.email + ' has been reset.' : u.email + ' has no two-factor authentication set up.');
      } catch (e) {
        if (!sessionLost(e)) show(adminsError, e.message);
      }
    }

    $('#tenant-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const title = $('#tenant-title').value.trim();
      show($('.error', form), '');
      if (!title) { show($('.error', form), 'Enter a title for the tenant.'); return; }
      try {
        const t = await api('POST', '/api/tenant', { title: title });
        form.reset();
        await loadTenants();
        await openTenant(t);
      } catch (e) {
        if (!sessionLost(e)) show($('.error', form), e.message);
      }
    });

    $('#admin-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const email = $('#admin-email').value.trim();
      show($('.error', form), '');
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) { show($('.error', form), 'Enter a valid email address.'); return; }
      try {
        const user = await api('POST', '/api/user?sendActivationMail=false', {
          email: email, authority: 'TENANT_ADMIN',
          firstName: $('#admin-first').value.trim() || null, lastName: $('#admin-last').value.trim() || null,
          tenantId: { entityType: 'TENANT', id: tenant.id.id },
        });
        form.reset();
        const link = await api('GET', '/api/user/' + user.id.id + '/activationLink');
        $('#activation-link code').textContent = String(link);
        $('#activation-link').hidden = false;
        await loadAdmins();
      } catch (e) {
        if (!sessionLost(e)) show($('.error', form), e.message);
      }
    });

    await loadTenants();
  };

  // ---------------------------------------------------------------- sysadmin: audit log
  pages['admin-audit'] = async function () {
    const form = $('#audit-filters');
    const body = $('#audit-table tbody');
    const error = $('.error', $('#audit-table').closest('section'));
    let page = 0;

    async function load() {
      show(error, '');
      const params = new URLSearchParams({ pageSize: '20', page: String(page), sortProperty: 'createdTime', sortOrder: 'DESC' });
      const type = $('#audit-type').value;
      if (type) params.set('actionTypes', type);
      const from = $('#audit-from').value;
      const to = $('#audit-to').value;
      if (from) params.set('startTime', String(new Date(from).getTime()));
      if (to) params.set('endTime', String(new Date(to).getTime()));
      const text = $('#audit-text').value.trim();
      if (text) params.set('textSearch', text);
      try {
        const result = await api('GET', '/api/audit/logs?' + params.toString());
        body.replaceChildren();
        result.data.forEach((entry) => {
          const tr = document.createElement('tr');
          cell(tr, new Date(entry.createdTime).toLocaleString());
          cell(tr, [entry.entityId ? entry.entityId.entityType : '', entry.entityName || ''].filter(Boolean).join(' '));
          cell(tr, entry.userName || '');
          cell(tr, entry.actionType);
          cell(tr, entry.actionStatus);
          cell(tr, entry.actionFailureDetails || '');
          body.appendChild(tr);
        });
        if (!result.data.length) {
          const tr = document.createElement('tr');
          cell(tr, 'No entries match these filters.').colSpan = 6;
          body.appendChild(tr);
        }
        $('#audit-page').textContent = 'Page ' + (page + 1) + ' of ' + Math.max(1, result.totalPages);
        $('#audit-prev').disabled = page === 0;
        $('#audit-next').disabled = !result.hasNext;
      } catch (e) {
        if (!sessionLost(e)) show(error, e.message);
      }
    }
    form.addEventListener('submit', (ev) => { ev.preventDefault(); page = 0; load(); });
    $('#audit-prev').addEventListener('click', () => { if (page > 0) { page -= 1; load(); } });
    $('#audit-next').addEventListener('click', () => { page += 1; load(); });
    await load();
  };

  // ---------------------------------------------------------------- start
  document.addEventListener('DOMContentLoaded', () => {
    const out = $('#logout');
    if (out) out.addEventListener('click', logout);
    const page = pages[document.body.dataset.page];
    // The page wires its controls before its first await; the ones marked data-wired come
    // disabled in the HTML and are enabled only now, so that a click made before the script ran
    // is never silently lost.
    const running = new Promise((resolve) => { resolve(page ? page() : undefined); });
    $$('[data-wired]').forEach((el) => { el.disabled = false; });
    running
      .catch((e) => toast(e && e.message ? e.message : 'Something went wrong.'))
      .finally(() => { document.body.dataset.ready = '1'; });
  });
})();
