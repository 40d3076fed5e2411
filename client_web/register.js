// The public sign-up page (register.html): shows the registration policy and privacy notice,
// checks the form, sends it and says clearly what happens next. Nothing on this page reveals
// who else has registered.

import { contactSentence, parseContact } from './contact.js';
import { byId, el, setShown, setText } from './dom.js';
import { Refusal } from './http.js';
import { LinkAgainForm } from './linkagain.js';
import { RegistrationStatus, fetchPolicy, register } from './registrationapi.js';
import { Announcer } from './status.js';

const FIELDS = Object.freeze(['name', 'email', 'affiliation', 'consent']);
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const MODE_NOTE = Object.freeze({
  open: 'Once you register, your personal join link is sent to you by e-mail straight away.',
  approval: 'An organizer reviews each registration; once yours is approved, your personal join link is sent to you by e-mail.',
});

const RESULT = Object.freeze({
  [RegistrationStatus.APPROVED]: {
    heading: 'You are registered',
    text: 'Check your e-mail for your personal join link. It is meant for you alone; please do not pass it on.',
  },
  [RegistrationStatus.PENDING]: {
    heading: 'Thank you, your registration has been received',
    text: 'An organizer will review it; you will receive an e-mail with your personal join link once it is approved.',
  },
});

class RegisterPage {
  #doc;
  #form;
  #submit;
  #announcer;
  #linkAgain;
  #retryTimer = null;

  constructor(doc) {
    this.#doc = doc;
    this.#linkAgain = new LinkAgainForm(doc);
    this.#form = byId(doc, 'register-form');
    this.#submit = byId(doc, 'submit');
    this.#announcer = new Announcer(byId(doc, 'announcer'));
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#send();
    });
  }

  showPolicy(policy) {
    setShown(byId(this.#doc, 'loading'), false);
    this.#showEvent(policy.event ?? {});
    const contact = parseContact(policy.contact);
    byId(this.#doc, 'closed-contact').replaceChildren(...contactSentence('If you need access', contact));
    byId(this.#doc, 'link-again-contact').replaceChildren(...contactSentence('If it still does not come', contact));
    setShown(byId(this.#doc, 'link-again'), true);
    if (this.#doc.location.hash === '#link-again') byId(this.#doc, 'link-again').focus();
    if (policy.mode === 'closed') {
      this.#showClosed();
      return;
    }
    setText(byId(this.#doc, 'mode-note'), MODE_NOTE[policy.mode] ?? MODE_NOTE.approval);
    byId(this.#doc, 'privacy-text').replaceChildren(...paragraphs(policy.privacy_notice));
    setShown(this.#form, true);
  }

  showLoadError(error) {
    setShown(byId(this.#doc, 'loading'), false);
    const node = byId(this.#doc, 'load-error');
    setText(node, `Registration cannot be loaded right now (${error.message}). Please reload the page in a moment.`);
    setShown(node, true);
  }

  #showEvent(event) {
    const name = typeof event.name === 'string' ? event.name : '';
    if (name) this.#doc.title = `Register – ${name}`;
    setText(byId(this.#doc, 'event-name'), name);
    setText(byId(this.#doc, 'event-venue'), typeof event.venue === 'string' ? event.venue : '');
  }

  #showClosed() {
    setShown(this.#form, false);
    setShown(byId(this.#doc, 'closed'), true);
  }

  async #send() {
    this.#clearErrors();
    const entry = this.#read();
    const problems = checkEntry(entry);
    if (problems.length > 0) {
      for (const [field, message] of problems) this.#showFieldError(field, message);
      this.#focusField(problems[0][0]);
      return;
    }
    this.#setBusy(true);
    try {
      const created = await register(entry);
      this.#showResult(created.status);
    } catch (error) {
      this.#showRefusal(error);
    } finally {
      this.#setBusy(false);
    }
  }

  #read() {
    const value = (id) => byId(this.#doc, id).value.trim();
    return {
      name: value('name'),
      email: value('email'),
      affiliation: value('affiliation'),
      consent: byId(this.#doc, 'consent').checked,
    };
  }

  #showResult(status) {
    const result = RESULT[status] ?? RESULT[RegistrationStatus.PENDING];
    setShown(this.#form, false);
    setText(byId(this.#doc, 'result-heading'), result.heading);
    setText(byId(this.#doc, 'result-text'), result.text);
    const box = byId(this.#doc, 'result');
    box.dataset.status = status;
    setShown(box, true);
    box.focus();
    this.#announcer.say(`${result.heading}. ${result.text}`);
  }

  #showRefusal(error) {
    if (!(error instanceof Refusal)) {
      this.#showFormError(`Your registration could not be sent (${error.message}). Please try again.`);
    } else if (error.status === 400 && FIELDS.includes(error.field)) {
      this.#showFieldError(error.field, sentence(error.message));
      this.#focusField(error.field);
    } else if (error.code === 'registration_closed') {
      this.#showClosed();
      byId(this.#doc, 'closed').focus();
    } else if (error.status === 409) {
      this.#showFieldError('email', 'This e-mail address is already registered. Your join link can be sent to it again: see “Already registered?” below.');
      this.#linkAgain.suggest(byId(this.#doc, 'email').value.trim());
    } else if (error.status === 413) {
      this.#showFormError('What you entered is too long to send. Please shorten it and try again.');
    } else if (error.status === 429) {
      this.#showTooMany(error.retryAfter);
    } else {
      this.#showFormError(`Your registration could not be sent: ${error.message}`);
    }
  }

  #showTooMany(seconds) {
    if (seconds === null) {
      this.#showFormError('Too many attempts. Please wait a moment and try again.');
      return;
    }
    this.#showFormError(`Too many attempts. Please try again in ${secondsText(seconds)}.`);
    clearTimeout(this.#retryTimer);
    this.#submit.disabled = true;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#submit.disabled = false;
      setShown(byId(this.#doc, 'form-error'), false);
      this.#announcer.say('You can try again now.');
    }, seconds * 1000);
  }

  #showFieldError(field, message) {
    const input = byId(this.#doc, field);
    input.setAttribute('aria-invalid', 'true');
    setText(byId(this.#doc, `${field}-error`), message);
  }

  #focusField(field) {
    byId(this.#doc, field).focus();
  }

  #showFormError(message) {
    const node = byId(this.#doc, 'form-error');
    setText(node, message);
    setShown(node, true);
  }

  #clearErrors() {
    for (const field of FIELDS) {
      byId(this.#doc, field).removeAttribute('aria-invalid');
      setText(byId(this.#doc, `${field}-error`), '');
    }
    setShown(byId(this.#doc, 'form-error'), false);
  }

  #setBusy(busy) {
    this.#form.setAttribute('aria-busy', String(busy));
    if (this.#retryTimer === null) this.#submit.disabled = busy;
    setText(this.#submit, busy ? 'Sending…' : 'Register');
  }
}

/** The problems the browser can see before asking the server: [[field, message], ...]. */
function checkEntry(entry) {
  const problems = [];
  if (entry.name === '') problems.push(['name', 'Please enter your name.']);
  if (entry.email === '') {
    problems.push(['email', 'Please enter your e-mail address; your join link is sent there.']);
  } else if (!EMAIL_SHAPE.test(entry.email)) {
    problems.push(['email', 'This does not look like an e-mail address (for example name@example.org).']);
  }
  if (!entry.consent) problems.push(['consent', 'Please read the privacy notice and tick the box to agree.']);
  return problems;
}

/** The notice as paragraphs: blank lines separate them; single line breaks are kept (CSS). */
function paragraphs(text) {
  const source = typeof text === 'string' ? text : '';
  return source.split(/\r?\n\s*\r?\n/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => el('p', {}, part));
}

/** The server writes "email is required"; beside a field it reads better as a sentence. */
function sentence(text) {
  const trimmed = String(text ?? '').trim();
  if (trimmed === '') return 'Please check this field.';
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function secondsText(seconds) {
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

async function main() {
  const page = new RegisterPage(document);
  try {
    page.showPolicy(await fetchPolicy());
  } catch (error) {
    page.showLoadError(error);
  }
}

main();
