/* DOM helpers of every page: lookups, error and notice display, forms, table cells. All text goes
 * into the page with textContent, never innerHTML. */

export const $ = (sel, root) => (root || document).querySelector(sel);
export const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

// Error and notice elements are hidden while empty.
export function show(el, message) {
  if (!el) return;
  el.textContent = message || '';
  el.hidden = !message;
}

export function toast(message) {
  const el = $('#toast');
  show(el, message);
  if (message) setTimeout(() => show(el, ''), 8000);
}

// Disables a form's controls while a request is in flight and restores each one as it was.
export function busy(form, on) {
  $$('button, input, select', form).forEach((el) => {
    if (on) { el.dataset.wasDisabled = el.disabled ? '1' : ''; el.disabled = true; } else if (el.dataset.wasDisabled !== undefined) { el.disabled = el.dataset.wasDisabled === '1'; delete el.dataset.wasDisabled; }
  });
}

export const looksLikeEmail = (text) => /^[^\s@]+@[^\s@]+$/.test(text);

// A whole number from a text field, or null (left for the server to judge, like an empty field).
export function intField(id) {
  const raw = $(id).value.trim();
  return /^-?\d+$/.test(raw) ? parseInt(raw, 10) : null;
}

// The password typed twice, or null with the form's error shown.
export function passwordPair(form, first, second) {
  const err = $('.error', form);
  show(err, '');
  const password = $(first).value;
  if (!password) { show(err, 'Enter a password.'); return null; }
  if (password !== $(second).value) { show(err, 'The passwords do not match.'); return null; }
  return password;
}

export function cell(row, text) {
  const td = document.createElement('td');
  if (text instanceof Node) td.appendChild(text); else td.textContent = text;
  row.appendChild(td);
  return td;
}

export function button(label, onClick, extra) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (extra) b.setAttribute('aria-label', extra);
  b.addEventListener('click', onClick);
  return b;
}
