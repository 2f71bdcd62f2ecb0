/**
 * Keeps the chat session id across reloads (localStorage), so answers to
 * tasks submitted before a reload keep arriving at this browser.
 */
const STORAGE_KEY = 'taskwire.session_id';
/**
 * The master decides what a valid id is (it issues a new one for a malformed
 * id); the browser only refuses values that cannot be an id at all.
 */
const SESSION_ID = /^[\x21-\x7e]{1,256}$/;

export interface SessionStore {
  get(): string | undefined;
  set(id: string): void;
}

export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID.test(value);
}

/** localStorage-backed store; falls back to memory when storage is unavailable (private mode, disabled). */
export function createSessionStore(storage: Storage | undefined = safeLocalStorage()): SessionStore {
  let memory: string | undefined;
  return {
    get() {
      let stored: string | null | undefined;
      try {
        stored = storage?.getItem(STORAGE_KEY);
      } catch {
        stored = undefined;
      }
      const id = stored ?? memory;
      return isSessionId(id) ? id : undefined;
    },
    set(id) {
      memory = id;
      try {
        storage?.setItem(STORAGE_KEY, id);
      } catch {
        // Quota or disabled storage: the in-memory copy still serves this page.
      }
    },
  };
}

function safeLocalStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}
