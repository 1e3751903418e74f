// The admin's gateway key: in this tab's session storage only (never local storage, never a URL).
const SLOT = 'byok.console.key';

export function key() {
  try { return sessionStorage.getItem(SLOT); } catch { return null; }
}

export function keep(value) {
  sessionStorage.setItem(SLOT, value);
}

export function forget() {
  try { sessionStorage.removeItem(SLOT); } catch { /* storage disabled: nothing kept */ }
}
