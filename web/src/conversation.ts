/**
 * The llm conversation of this browser session, kept in memory only: each
 * llm task sends the whole history plus the new user message.
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Older turns are dropped past this many messages, to bound the task input. */
export const MAX_HISTORY_MESSAGES = 40;

export class Conversation {
  #messages: ChatMessage[] = [];

  get messages(): readonly ChatMessage[] {
    return this.#messages;
  }

  get turns(): number {
    return this.#messages.filter((m) => m.role === 'user').length;
  }

  /** Records a completed exchange; a failed or cancelled answer is not part of the history. */
  addExchange(user: string, assistant: string): void {
    this.#messages.push({ role: 'user', content: user }, { role: 'assistant', content: assistant });
    const excess = this.#messages.length - MAX_HISTORY_MESSAGES;
    if (excess > 0) this.#messages.splice(0, excess + (excess % 2));
  }

  clear(): void {
    this.#messages = [];
  }
}
