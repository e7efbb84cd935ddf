/* Sysadmin: the platform 2FA settings form, with the spec's defaults and validation messages. */

import { api, sessionLost } from './api.js';
import { $, $$, busy, intField, show } from './dom.js';
import { startPage } from './page.js';

startPage(async function () {
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
});
