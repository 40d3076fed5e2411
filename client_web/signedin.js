// Who is signed in on the agenda page: "Signed in as NAME" for a valid access link, with the
// attendee's way out ("Delete my registration"), and what to say when the link stops working.
// The token itself is kept by token.js; this module forgets it when the server refuses it.

import { byId, setShown, setText } from './dom.js';
import { deleteMyRegistration, fetchMe } from './registrationapi.js';
import { forgetToken } from './token.js';

export const TokenCheck = Object.freeze({ VALID: 'valid', INVALID: 'invalid', UNKNOWN: 'unknown' });

const ENDINGS = Object.freeze({
  invalid: {
    heading: 'Your access link is not valid or has expired.',
    text: 'You can still follow the public agenda here. If you registered, you can have your link sent again from the register page.',
  },
  withdrawn: {
    heading: 'Your access has been withdrawn or has expired.',
    text: 'You can still follow the public agenda here. If you think this is a mistake, please contact the organizers.',
  },
  deleted: {
    heading: 'Your registration has been deleted.',
    text: 'Your personal join link no longer works. You can still follow the public agenda here.',
  },
});

export class SignedInBar {
  #doc;
  #confirm;
  #signedOut;
  #shown;
  #token = null;
  #busy = false;
  #ended = false;

  /**
   * `confirm(message, label)` resolves true when the person agrees; `signedOut()` is called
   * when the token stops working during the visit (deleted or withdrawn); `shown(me)` with
   * /api/me's answer once the token is known good, and `shown(null)` once it is not.
   */
  constructor(doc, { confirm, signedOut, shown = () => {} }) {
    this.#doc = doc;
    this.#confirm = confirm;
    this.#signedOut = signedOut;
    this.#shown = shown;
    byId(doc, 'delete-registration').addEventListener('click', () => this.#deleteRegistration());
  }

  /** Ask the server who the token belongs to and show it; says whether the token is good. */
  async check(token) {
    this.#token = token;
    try {
      this.#show(await fetchMe(token));
      return TokenCheck.VALID;
    } catch (error) {
      if (error.status !== 401) return TokenCheck.UNKNOWN;
      this.#end('invalid');
      return TokenCheck.INVALID;
    }
  }

  /** The server stopped accepting the token (revoked or expired) while the page was open. */
  withdrawn() {
    if (this.#ended || this.#busy) return;
    this.#end('withdrawn');
    this.#signedOut();
  }

  #show(me) {
    setText(byId(this.#doc, 'signed-in-name'), String(me.name ?? ''));
    const registered = me.registration !== null && typeof me.registration === 'object';
    setShown(byId(this.#doc, 'delete-registration'), registered);
    setShown(byId(this.#doc, 'account-bar'), true);
    this.#shown(me);
  }

  async #deleteRegistration() {
    if (this.#busy || this.#ended) return;
    const agreed = await this.#confirm(
      'Delete your registration? Your personal join link stops working at once, and this cannot be undone.',
      'Delete my registration');
    if (!agreed) return;
    const button = byId(this.#doc, 'delete-registration');
    const problem = byId(this.#doc, 'account-problem');
    this.#busy = true;
    button.disabled = true;
    setShown(problem, false);
    try {
      await deleteMyRegistration(this.#token);
      this.#end('deleted');
    } catch (error) {
      if (error.status === 401) {
        this.#end('withdrawn');
      } else {
        setText(problem, `Your registration could not be deleted: ${error.message}`);
        setShown(problem, true);
        return;
      }
    } finally {
      this.#busy = false;
      button.disabled = false;
    }
    this.#signedOut();
  }

  #end(reason) {
    this.#ended = true;
    this.#token = null;
    forgetToken();
    setShown(byId(this.#doc, 'account-bar'), false);
    this.#shown(null);
    const ending = ENDINGS[reason];
    setText(byId(this.#doc, 'account-message-heading'), ending.heading);
    setText(byId(this.#doc, 'account-message-text'), ending.text);
    const message = byId(this.#doc, 'account-message');
    message.dataset.reason = reason;
    setShown(message, true);
    message.focus();
  }
}
