/* How every page starts. Each template loads one page module, which calls startPage() with its
 * wiring function. All modules are plain files under /static, imported by relative URLs: the UI
 * middleware serves every /static response with Cache-Control: no-store, so a module imported by
 * another is as fresh after an upgrade as the page's own script (versioned URLs would have to be
 * carried into every import). */

import { logout } from './api.js';
import { $, $$, toast } from './dom.js';

function run(wire) {
  const out = $('#logout');
  if (out) out.addEventListener('click', logout);
  // The page wires its controls before its first await; the ones marked data-wired come
  // disabled in the HTML and are enabled only now, so that a click made before the script ran
  // is never silently lost.
  const running = new Promise((resolve) => { resolve(wire ? wire() : undefined); });
  $$('[data-wired]').forEach((el) => { el.disabled = false; });
  running
    .catch((e) => toast(e && e.message ? e.message : 'Something went wrong.'))
    .finally(() => { document.body.dataset.ready = '1'; });
}

export function startPage(wire) {
  // A module script runs once the document is parsed; the check keeps a page that loaded its
  // module some other way from starting before its controls exist.
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => run(wire));
  else run(wire);
}
