// One way to call the plenary HTTP API from the pages: JSON in and out, an optional bearer
// token, and every failure as an ApiError (api.js). The server's refusals
// ({"error": CODE, "message": TEXT}) become its subclass Refusal, which also carries the form
// field at fault (a 400's "field") and how long to wait (a 429's Retry-After).

import { ApiError } from './api.js';

export class Refusal extends ApiError {
  /** `field`: the input named by a 400; `retryAfter`: seconds from a 429's Retry-After. */
  constructor(code, message, status, { field = null, retryAfter = null } = {}) {
    super(code, message, status);
    this.name = 'Refusal';
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

/** Send a request; resolves with the Response when it is 2xx, else throws. */
export async function send(method, path, { token = null, json, signal, accept = 'application/json' } = {}) {
  const headers = { Accept: accept };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, signal, cache: 'no-store' };
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError('network', 'The server cannot be reached.', 0);
  }
  if (!response.ok) throw await refusal(response);
  return response;
}

/** The JSON object a successful response carries. */
export async function bodyOf(response) {
  const body = await response.json().catch(() => null);
  if (body === null || typeof body !== 'object') {
    throw new ApiError('bad_response', 'The server sent an unreadable answer.', response.status);
  }
  return body;
}

/** The Refusal a failed response carries (its JSON body, if any, and Retry-After). */
export async function refusal(response) {
  const body = await response.json().catch(() => null);
  return new Refusal(
    body?.error ?? `http_${response.status}`,
    body?.message ?? `The server answered ${response.status}.`,
    response.status,
    {
      field: typeof body?.field === 'string' ? body.field : null,
      retryAfter: retryAfterSeconds(response.headers.get('Retry-After')),
    },
  );
}

/** Retry-After is either a number of seconds or an HTTP date; null when absent or unreadable. */
function retryAfterSeconds(header, nowMs = Date.now()) {
  if (header === null || header.trim() === '') return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - nowMs) / 1000)) : null;
}

/** The file name in `Content-Disposition: attachment; filename="x.csv"`, without any path. */
export function attachmentName(header) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header ?? '');
  if (!match) return null;
  let name;
  try {
    name = decodeURIComponent(match[1]);
  } catch {
    name = match[1];
  }
  name = name.split(/[\\/]/).pop().trim();
  return name === '' ? null : name;
}
