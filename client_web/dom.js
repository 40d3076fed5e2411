// Building the page without innerHTML: every string given here ends up as a text node
// or an attribute value, so text from the server or from users is never parsed as markup.

/**
 * Create an element.
 * `props`: attributes (set with setAttribute; `true` means present, false/null/undefined
 * means absent), `class`, and `on<event>` listener functions.
 * `children`: nodes or strings (strings become text nodes); nested arrays are flattened and
 * null/undefined/false children are skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      node.className = value;
    } else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** Set an element's text only when it changes, so screen readers and selections are not disturbed. */
export function setText(node, text) {
  const value = text ?? '';
  if (node.textContent !== value) node.textContent = value;
}

/** Show or hide an element with the `hidden` attribute. */
export function setShown(node, shown) {
  if (node.hidden === shown) node.hidden = !shown;
}

/** Look up an element by id and fail loudly if the page does not have it. */
export function byId(root, id) {
  const node = root.getElementById(id);
  if (node === null) throw new Error(`page is missing #${id}`);
  return node;
}

/**
 * Make `nodes` the children of `parent`, in that order, moving only those out of place; the
 * others are removed. Keyboard focus inside a moved child is given back to it.
 */
export function placeChildren(parent, nodes) {
  const focused = parent.ownerDocument.activeElement;
  const keep = focused !== null && focused !== parent && parent.contains(focused) ? focused : null;
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(node, cursor);
  }
  while (cursor !== null) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  if (keep !== null && keep.isConnected && parent.ownerDocument.activeElement !== keep) {
    keep.focus({ preventScroll: true });
  }
}
