// Asking before something that cannot be undone, with the page's own <dialog> (modal,
// focus-trapped, Escape cancels) rather than window.confirm.

import { setText } from './dom.js';

export class ConfirmDialog {
  #dialog;
  #message;
  #confirmButton;

  /** `dialog`: a <dialog> holding a [data-message] element and a form with method="dialog". */
  constructor(dialog) {
    this.#dialog = dialog;
    this.#message = dialog.querySelector('[data-message]');
    this.#confirmButton = dialog.querySelector('button[value="confirm"]');
  }

  /** Resolves true when the user confirms, false when they cancel or press Escape. */
  ask(message, confirmLabel) {
    setText(this.#message, message);
    setText(this.#confirmButton, confirmLabel);
    this.#dialog.returnValue = '';
    return new Promise((resolve) => {
      this.#dialog.addEventListener('close', () => resolve(this.#dialog.returnValue === 'confirm'), { once: true });
      this.#dialog.showModal();
    });
  }
}
