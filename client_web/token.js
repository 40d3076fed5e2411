// The access token travels in the URL fragment (`#token=...`): fragments are never sent to
// the server or written to its logs. The page moves it to sessionStorage, so a reload keeps
// working, and removes it from the address bar, so it does not end up in bookmarks,
// screenshots or the browser history.

const STORAGE_KEY = 'plenary.token';

/** Take the token from the fragment if there is one, else the one stored for this tab. */
export function takeToken(win = window) {
  const fromFragment = tokenInFragment(win.location.hash);
  if (fromFragment !== null) {
    win.sessionStorage.setItem(STORAGE_KEY, fromFragment);
    const { pathname, search } = win.location;
    win.history.replaceState(win.history.state, '', `${pathname}${search}`);
    return fromFragment;
  }
  return win.sessionStorage.getItem(STORAGE_KEY);
}

/** A link to `path` that signs the page it opens in with `token` (in the fragment). */
export function withToken(path, token) {
  return token ? `${path}#${new URLSearchParams({ token })}` : path;
}

/** Forget the stored token (it was refused). */
export function forgetToken(win = window) {
  win.sessionStorage.removeItem(STORAGE_KEY);
}

function tokenInFragment(hash) {
  if (!hash || hash.length < 2) return null;
  const token = new URLSearchParams(hash.slice(1)).get('token');
  return token && token.trim() !== '' ? token.trim() : null;
}
