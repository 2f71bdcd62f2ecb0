/**
 * The cluster API key the chat presents in the Socket.IO handshake
 * (`auth: { apiKey }`) when the master requires one. When the master refuses
 * the handshake (`connect_error` "UNAUTHENTICATED: ..."), the page asks for
 * the key in a small form above the chat, keeps it in localStorage and
 * connects again. Not the provider key of the llm field (that one travels
 * with a task).
 */
const STORAGE_KEY = 'taskwire.api_key';

export interface AccessKeyStore {
  get(): string | undefined;
  set(key: string | undefined): void;
}

export function createAccessKeyStore(storage: Storage | undefined): AccessKeyStore {
  let memory: string | undefined;
  return {
    get() {
      try {
        return storage?.getItem(STORAGE_KEY) ?? memory;
      } catch {
        return memory;
      }
    },
    set(key) {
      memory = key;
      try {
        if (key === undefined) storage?.removeItem(STORAGE_KEY);
        else storage?.setItem(STORAGE_KEY, key);
      } catch {
        // the in-memory copy serves this page
      }
    },
  };
}

export function isUnauthenticated(error: { message?: string }): boolean {
  return typeof error.message === 'string' && error.message.startsWith('UNAUTHENTICATED');
}

/**
 * Shows the key form (once) and calls `connect` with the key the user enters.
 * `rejected` says a stored key was refused, so the form says so.
 */
export function askForAccessKey(doc: Document, store: AccessKeyStore, connect: () => void, rejected: boolean): void {
  let form = doc.getElementById('access-key-form') as HTMLFormElement | null;
  if (!form) {
    form = doc.createElement('form');
    form.id = 'access-key-form';
    form.className = 'access-key';
    const label = doc.createElement('label');
    label.htmlFor = 'access-key';
    label.id = 'access-key-label';
    const input = doc.createElement('input');
    input.id = 'access-key';
    input.type = 'password';
    input.autocomplete = 'off';
    input.required = true;
    const button = doc.createElement('button');
    button.type = 'submit';
    button.className = 'button';
    button.textContent = 'Connect';
    form.append(label, input, button);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      store.set(key);
      form!.hidden = true;
      connect();
    });
    (doc.querySelector('.app') ?? doc.body).prepend(form);
  }
  const label = doc.getElementById('access-key-label');
  if (label) label.textContent = rejected ? 'That API key was refused. API key of this taskwire master:' : 'This taskwire master needs an API key:';
  form.hidden = false;
  (doc.getElementById('access-key') as HTMLInputElement | null)?.focus();
}
