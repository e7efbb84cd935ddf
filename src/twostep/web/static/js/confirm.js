/* The confirmation dialog of _confirm.html: resolves true for the confirming button, false for
 * Cancel or Escape. */

import { $ } from './dom.js';

export function confirmDialog(title, text, yesLabel) {
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
