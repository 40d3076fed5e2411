// Values from the server's messages checked for their type: what a field holds when it is of
// the kind expected, and a plain stand-in when it is not.

/** The text, or '' when it is not text. */
export function text(value) {
  return typeof value === 'string' ? value : '';
}

/** The finite number, or null when it is not one. */
export function number(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
