/**
 * Remembers what this browser sent (kind, text, the parsed-input note) by
 * task id in localStorage, so that after a reload the replayed answers of
 * this session show the user's own questions again instead of "from another
 * tab", and llm answers rejoin the conversation. Bounded: the newest
 * MAX_SENT tasks, texts cut to MAX_SENT_TEXT characters; images are not kept.
 */
export const MAX_SENT = 50;
export const MAX_SENT_TEXT = 4000;
const KEY = 'taskwire.sent';

export interface SentTask {
  id: string;
  kind: string;
  text: string;
  detail?: string;
  /** An image went with it (not kept). */
  image?: boolean;
  /** When it was sent (Date.now()): before this page loaded means before a reload, else another tab. */
  at: number;
}

function valid(x: unknown): x is SentTask {
  if (x === null || typeof x !== 'object') return false;
  const t = x as Record<string, unknown>;
  return typeof t['id'] === 'string' && typeof t['kind'] === 'string' && typeof t['text'] === 'string' && typeof t['at'] === 'number' && (t['detail'] === undefined || typeof t['detail'] === 'string');
}

export class SentStore {
  constructor(private readonly storage: Storage | undefined = safeLocalStorage()) {}

  get(id: string): SentTask | undefined {
    return this.#read().find((t) => t.id === id);
  }

  record(task: SentTask): void {
    const entry: SentTask = { ...task, text: task.text.slice(0, MAX_SENT_TEXT) };
    const list = [...this.#read().filter((t) => t.id !== task.id), entry].slice(-MAX_SENT);
    try {
      this.storage?.setItem(KEY, JSON.stringify(list));
    } catch {
      // Quota or disabled storage: only the reload view loses the question.
    }
  }

  #read(): SentTask[] {
    try {
      const parsed: unknown = JSON.parse(this.storage?.getItem(KEY) ?? '[]');
      return Array.isArray(parsed) ? parsed.filter(valid) : [];
    } catch {
      return [];
    }
  }
}

function safeLocalStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}
