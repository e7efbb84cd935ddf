/* The Security page's "Where you are signed in" card. */

import { api, sessionLost } from './api.js';
import { $, show } from './dom.js';

// ASVS 7.5.2: the user sees each sign-in and can end any of them, or all but this one (also
// offered after a change of 2FA, ASVS 7.4.3). Wired before the 2FA settings load (the page's
// first await), so its data-wired button works as soon as it is enabled.
export function wireSessionsCard() {
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
