// HTTP calls for registration and access: the public sign-up, the attendee's own account and
// the organizer's review. Failures are thrown as described in http.js.

import { attachmentName, bodyOf, send } from './http.js';

export const RegistrationStatus = Object.freeze({
  PENDING: 'pending',
  APPROVED: 'approved',
  REJECTED: 'rejected',
  WITHDRAWN: 'withdrawn',
  REVOKED: 'revoked',
});

export const Decision = Object.freeze({ APPROVE: 'approve', REJECT: 'reject' });

const CSV_FILENAME = 'registrations.csv';

/** GET /api/registrations/policy: {mode, privacy_notice, contact, event}. */
export async function fetchPolicy() {
  return bodyOf(await send('GET', '/api/registrations/policy'));
}

/** POST /api/registrations: {id, status}. */
export async function register({ name, email, affiliation, consent }) {
  const form = { name, email, consent };
  if (affiliation) form.affiliation = affiliation;
  return bodyOf(await send('POST', '/api/registrations', { json: form }));
}

/** POST /api/registrations/resend: {status, message}, the same whatever the address. */
export async function requestLinkAgain(email) {
  return bodyOf(await send('POST', '/api/registrations/resend', { json: { email } }));
}

/** GET /api/me: {name, role, expires_at, registration: null | {id, status}}. */
export async function fetchMe(token) {
  return bodyOf(await send('GET', '/api/me', { token }));
}

/** DELETE /api/me/registration: the attendee deletes their own registration. */
export async function deleteMyRegistration(token) {
  return bodyOf(await send('DELETE', '/api/me/registration', { token }));
}

/**
 * GET /api/registrations: {registrations, total, counts}. `status` null means every status;
 * `ids`, if given, are the only registrations wanted.
 */
export async function listRegistrations(token, { status = null, query = '', ids = [], limit, offset }, { signal } = {}) {
  const params = new URLSearchParams();
  if (status) params.set('status', status);
  if (query) params.set('q', query);
  for (const id of ids) params.append('id', String(id));
  params.set('limit', String(limit));
  params.set('offset', String(offset));
  return bodyOf(await send('GET', `/api/registrations?${params}`, { token, signal }));
}

/** POST /api/registrations/decisions: the updated registrations. */
export async function decide(token, ids, decision) {
  const body = await bodyOf(await send('POST', '/api/registrations/decisions', {
    token, json: { ids, decision },
  }));
  return body.registrations ?? [];
}

/** POST /api/registrations/{id}/revoke: the updated registration. */
export async function revoke(token, id) {
  return (await bodyOf(await send('POST', `${registrationPath(id)}/revoke`, { token }))).registration;
}

/** POST /api/registrations/{id}/resend: the registration, with a fresh link mailed. */
export async function resendLink(token, id) {
  return (await bodyOf(await send('POST', `${registrationPath(id)}/resend`, { token }))).registration;
}

/** GET /api/registrations.csv: {blob, filename} for the browser to save. */
export async function fetchRegistrationsCsv(token) {
  const response = await send('GET', '/api/registrations.csv', { token, accept: 'text/csv' });
  const filename = attachmentName(response.headers.get('Content-Disposition')) ?? CSV_FILENAME;
  return { blob: await response.blob(), filename };
}

function registrationPath(id) {
  return `/api/registrations/${encodeURIComponent(String(id))}`;
}
