// Asking before something that cannot be undone, with a <dialog> of our own (modal,
// focus-trapped, Escape cancels) rather than window.confirm. The dialog is built the first
// time it is needed, so the pages carry no markup for it.

import { el, setText } from './dom.js';

export class ConfirmDialog {
  #doc;
  #dialog = null;
  #message;
  #confirmButton;

  constructor(doc) {
    this.#doc = doc;
  }

  /** Resolves true when the user confirms, false when they cancel or press Escape. */
  ask(message, confirmLabel) {
    const dialog = this.#built();
    setText(this.#message, message);
    setText(this.#confirmButton, confirmLabel);
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
      dialog.showModal();
    });
  }

  #built() {
    if (this.#dialog !== null) return this.#dialog;
    this.#message = el('p');
    this.#confirmButton = el('button', { type: 'submit', value: 'confirm', class: 'danger' }, 'Confirm');
    // The submit buttons close the dialog with their value as its returnValue; Cancel takes
    // the focus when it opens, so Enter never confirms by accident.
    this.#dialog = el('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-heading' },
      el('form', { method: 'dialog' },
        el('h2', { id: 'confirm-heading' }, 'Are you sure?'),
        this.#message,
        el('div', { class: 'dialog-actions' },
          el('button', { type: 'submit', value: 'cancel', autofocus: true }, 'Cancel'),
          this.#confirmButton)));
    this.#doc.body.append(this.#dialog);
    return this.#dialog;
  }
}
