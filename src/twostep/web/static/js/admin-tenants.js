/* Sysadmin: tenants and their administrators (create, unlock or disable, reset 2FA, sign out
 * everywhere). */

import { api, sessionLost } from './api.js';
import { confirmDialog } from './confirm.js';
import { $, button, cell, looksLikeEmail, show, toast } from './dom.js';
import { byOrder } from './methods.js';
import { startPage } from './page.js';

startPage(async function () {
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
    if (!looksLikeEmail(email)) { show($('.error', form), 'Enter a valid email address.'); return; }
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
});
