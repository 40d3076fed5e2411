// HTTP calls to the plenary server. Errors come back as {"error": CODE, "message": TEXT}.

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

/** GET /api/agenda: the event, the agenda clock and every item with its room. */
export async function fetchAgenda({ signal } = {}) {
  return getJson('/api/agenda', { signal });
}

async function getJson(path, { signal, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { headers, signal, cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError('network', 'The server cannot be reached.', 0);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const code = body?.error ?? 'http_error';
    const message = body?.message ?? `The server answered ${response.status}.`;
    throw new ApiError(code, message, response.status);
  }
  if (body === null) throw new ApiError('bad_response', 'The server sent an unreadable answer.', response.status);
  return body;
}
