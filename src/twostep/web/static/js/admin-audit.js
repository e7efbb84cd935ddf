/* Sysadmin: the audit log with its filters and paging. */

import { api, sessionLost } from './api.js';
import { $, cell, show } from './dom.js';
import { startPage } from './page.js';

startPage(async function () {
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
});
