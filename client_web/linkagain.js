// "E-mail me my link again" on the register page: one address, always the same calm answer
// (the server does not say whether the address is registered, and neither does this page),
// and a clear word when the address is malformed or too many requests were sent.

import { byId, setShown, setText } from './dom.js';
import { Refusal } from './http.js';
import { requestLinkAgain } from './registrationapi.js';

const SENT = 'If this address has an approved registration, your join link is on its way. '
  + 'Check your inbox, and your spam folder, in a few minutes. If nothing comes, the registration '
  + 'may still be waiting for approval.';

export class LinkAgainForm {
  #doc;
  #form;
  #input;
  #button;

  constructor(doc) {
    this.#doc = doc;
    this.#form = byId(doc, 'link-again-form');
    this.#input = byId(doc, 'link-again-email');
    this.#button = byId(doc, 'link-again-send');
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#send();
    });
  }

  /** Offer it for an address already typed (a sign-up refused as already registered). */
  suggest(address) {
    if (this.#input.value.trim() === '') this.#input.value = address;
    byId(this.#doc, 'link-again').scrollIntoView({ block: 'nearest' });
    this.#input.focus();
  }

  async #send() {
    const email = this.#input.value.trim();
    this.#say('', false);
    if (email === '' || !email.includes('@')) {
      this.#problem('Please enter the e-mail address you registered with (for example name@example.org).');
      return;
    }
    this.#button.disabled = true;
    try {
      await requestLinkAgain(email);
      this.#input.removeAttribute('aria-invalid');
      setText(byId(this.#doc, 'link-again-error'), '');
      this.#say(SENT, true);
    } catch (error) {
      this.#problem(refusalText(error));
    } finally {
      this.#button.disabled = false;
    }
  }

  #problem(text) {
    this.#input.setAttribute('aria-invalid', 'true');
    setText(byId(this.#doc, 'link-again-error'), text);
    this.#input.focus();
  }

  #say(text, shown) {
    const done = byId(this.#doc, 'link-again-done');
    setText(done, text);
    setShown(done, shown);
  }
}

function refusalText(error) {
  if (!(error instanceof Refusal)) return `Your request could not be sent (${error.message}). Please try again.`;
  if (error.status === 429) {
    const wait = error.retryAfter === null ? 'a moment' : `${error.retryAfter} seconds`;
    return `Too many requests from your connection. Please try again in ${wait}.`;
  }
  if (error.status === 400) return `This is not an address mail can be sent to: ${error.message}`;
  return `Your request could not be sent: ${error.message}`;
}
