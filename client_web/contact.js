// The ways forward a page offers when it cannot help further itself: register (while
// registration is open), or the event's contact (from the config) when it is closed or a link
// is lost. Built as nodes for a page to place; the texts come from the server as data.

import { el } from './dom.js';

/** {text, href} from the policy, or null when it is missing or not a usable link. */
export function parseContact(value) {
  if (value === null || typeof value !== 'object') return null;
  const { text, href } = value;
  if (typeof text !== 'string' || typeof href !== 'string' || text === '') return null;
  // Only links the server could have made: a page of the web, or an e-mail address.
  if (!/^(https?:\/\/|mailto:)/i.test(href)) return null;
  return { text, href };
}

/** "…, contact the organizers: LINK." as nodes; without a contact, just the words. */
export function contactSentence(lead, contact) {
  if (contact === null) return [`${lead}, please contact the organizers.`];
  return [`${lead}, contact the organizers: `, el('a', { href: contact.href, class: 'contact-link' }, contact.text), '.'];
}

/**
 * What someone without a (working) link may do next, from the policy: register while it is
 * open, or hear that it is closed and whom to ask. Nodes for one paragraph's place.
 */
export function wayIn(policy) {
  const contact = parseContact(policy?.contact);
  if (policy?.mode === 'open' || policy?.mode === 'approval') {
    return [
      el('p', { class: 'way-in-actions' },
        el('a', { href: '/register', class: 'action-link primary', id: 'register-link' }, 'Register to attend online'),
        ' ',
        el('a', { href: '/register#link-again', class: 'action-link' }, 'E-mail me my link again')),
      el('p', { class: 'way-in-contact' }, ...contactSentence('For anything else', contact)),
    ];
  }
  return [
    el('p', { class: 'way-in-closed', id: 'registration-closed' },
      'Registration is closed. ', ...contactSentence('If you need access', contact)),
    el('p', { class: 'way-in-actions' },
      el('a', { href: '/register#link-again', class: 'action-link' }, 'E-mail me my link again')),
  ];
}
