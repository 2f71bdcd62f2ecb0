/**
 * The chat controller: turns composer input into `task:submit`, routes the
 * master's task events to answer bubbles, and keeps the header (session,
 * connection, cluster) current. DOM building lives in the view modules.
 */
import type { Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import { AnswerView } from './answer-view.js';
import { ChatLog } from './chat-log.js';
import { renderClusterBar } from './cluster-bar.js';
import { CONNECTION_LABELS, watchConnection, type ConnectionState } from './connection-state.js';
import { Conversation } from './conversation.js';
import { plural } from './format.js';
import { fillKindPicker, placeholderFor } from './kind-picker.js';
import { chunkInfo, clusterInfo, parseAck, sessionInfo, taskInfo, type ChunkInfo, type TaskInfo } from './server-events.js';
import type { SessionStore } from './session-store.js';
import { SentStore } from './sent-store.js';
import { fileSizeLabel, imageLimit, readImage } from './image-file.js';
import { buildTaskInput } from './task-input.js';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ChatElements {
  connection: HTMLElement;
  connectionLabel: HTMLElement;
  reconnect: HTMLButtonElement;
  sessionId: HTMLElement;
  clusterBar: HTMLElement;
  scroller: HTMLElement;
  emptyState: HTMLElement;
  log: HTMLOListElement;
  form: HTMLFormElement;
  kind: HTMLSelectElement;
  delayField: HTMLElement;
  delay: HTMLInputElement;
  imageField: HTMLElement;
  image: HTMLInputElement;
  /** The user's own provider API key for llm tasks: kept in this page's memory only. */
  apiKeyField: HTMLElement;
  apiKey: HTMLInputElement;
  newConversation: HTMLButtonElement;
  message: HTMLTextAreaElement;
  send: HTMLButtonElement;
  hint: HTMLElement;
}

export interface ChatAppOptions {
  /** How long to wait for the master to acknowledge a submit. */
  submitTimeoutMs: number;
  cancelTimeoutMs: number;
  /** REST API of the master (same origin), used to catch up on tasks that finished while disconnected. */
  restBase: string;
  /** Remembers the last kind used (localStorage), like the session id. */
  kindStorage?: Storage | undefined;
  /** The `image` kind's composer (image-batch.ts): several files and a chain, sent as one batch over REST. */
  images?: { setVisible(visible: boolean): void; submit(): Promise<{ element: HTMLLIElement } | { hint: string }> };
}

export const DEFAULTS: ChatAppOptions = { submitTimeoutMs: 15_000, cancelTimeoutMs: 10_000, restBase: '/api/v1' };

type TaskEvent = { type: 'update' | 'done'; task: TaskInfo } | { type: 'chunk'; chunk: ChunkInfo };

const KIND_KEY = 'taskwire.kind';
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'expired']);

export class ChatApp {
  readonly #socket: ChatSocket;
  readonly #els: ChatElements;
  readonly #store: SessionStore;
  readonly #options: ChatAppOptions;
  readonly #log: ChatLog;
  readonly #conversation = new Conversation();
  /** What this browser sent, by task id: shown again after a reload. */
  readonly #sent = new SentStore();
  readonly #loadedAt = Date.now();
  /** The master's input limit (from `session`). */
  #maxInputBytes: number | undefined;
  /** Answer bubbles by task id. */
  readonly #answers = new Map<string, AnswerView>();
  /** llm answers and the prompt they answer, added to the conversation when they succeed. */
  readonly #prompts = new WeakMap<AnswerView, string>();
  #refs = 0;
  #connection: ConnectionState = 'connecting';
  #everConnected = false;
  #kinds: string[] = [];

  constructor(socket: ChatSocket, elements: ChatElements, store: SessionStore, options: Partial<ChatAppOptions> = {}) {
    this.#socket = socket;
    this.#els = elements;
    this.#store = store;
    this.#options = { ...DEFAULTS, ...options };
    this.#log = new ChatLog(elements.log, elements.scroller, elements.emptyState);
    this.#els.sessionId.textContent = store.get() ?? 'not assigned yet';
    renderClusterBar(elements.clusterBar, null);
    this.#bindSocket();
    this.#bindComposer();
    this.#refreshComposer();
  }

  #bindSocket(): void {
    const socket = this.#socket;
    watchConnection(socket, (state, detail) => this.#setConnection(state, detail));
    this.#els.reconnect.addEventListener('click', () => {
      this.#setConnection('reconnecting');
      socket.connect();
    });
    socket.on('session', (raw) => {
      const info = sessionInfo.safeParse(raw);
      if (!info.success) return warn('session', info.error);
      const previous = this.#store.get();
      this.#store.set(info.data.session_id);
      this.#els.sessionId.textContent = info.data.session_id;
      if (previous !== undefined && previous !== info.data.session_id) {
        this.#conversation.clear();
        this.#log.addSystem('The master started a new session; the llm conversation starts over.');
      }
      this.#kinds = info.data.kinds;
      this.#maxInputBytes = info.data.max_input_bytes;
      fillKindPicker(this.#els.kind, this.#kinds, this.#readKind());
      this.#refreshComposer();
    });
    socket.on('cluster', (raw) => {
      const cluster = clusterInfo.safeParse(raw);
      if (!cluster.success) return warn('cluster', cluster.error);
      renderClusterBar(this.#els.clusterBar, cluster.data);
      const kinds = cluster.data.kinds;
      if (kinds && kinds.join(',') !== this.#kinds.join(',')) {
        this.#kinds = kinds;
        fillKindPicker(this.#els.kind, this.#kinds, this.#readKind());
        this.#refreshComposer();
      }
    });
    socket.on('task:update', (raw) => {
      const task = taskInfo.safeParse(raw);
      if (!task.success) return warn('task:update', task.error);
      this.#route(task.data.id, { type: 'update', task: task.data });
    });
    socket.on('task:chunk', (raw) => {
      const chunk = chunkInfo.safeParse(raw);
      if (!chunk.success) return warn('task:chunk', chunk.error);
      this.#route(chunk.data.id, { type: 'chunk', chunk: chunk.data });
    });
    socket.on('task:done', (raw) => {
      const task = taskInfo.safeParse(raw);
      if (!task.success) return warn('task:done', task.error);
      this.#route(task.data.id, { type: 'done', task: task.data });
    });
  }

  #bindComposer(): void {
    const { form, kind, message, newConversation, delay } = this.#els;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#submit();
    });
    message.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    message.addEventListener('input', () => {
      this.#autosize();
      this.#setHint('');
    });
    delay.addEventListener('input', () => this.#setHint(''));
    this.#els.image.addEventListener('change', () => this.#setHint(''));
    kind.addEventListener('change', () => {
      this.#writeKind(kind.value);
      this.#setHint('');
      this.#refreshComposer();
    });
    newConversation.addEventListener('click', () => {
      this.#conversation.clear();
      this.#log.addSystem('New llm conversation: earlier messages are no longer sent.');
      this.#refreshComposer();
      message.focus();
    });
  }

  async #submit(): Promise<void> {
    const kind = this.#els.kind.value;
    const text = this.#els.message.value;
    if (this.#connection !== 'connected') return this.#setHint('Not connected to the master; wait until it reconnects.');
    if (!kind) return this.#setHint('The cluster serves no task kinds right now.');
    if (kind === 'image' && this.#options.images) {
      const started = await this.#options.images.submit();
      if ('hint' in started) return this.#setHint(started.hint);
      this.#log.addAnswer(started.element);
      return this.#setHint('');
    }
    const delayMs = this.#els.delay.value.trim() === '' ? 0 : Number(this.#els.delay.value);
    const file = kind === 'ocr' ? this.#els.image.files?.[0] : undefined;
    const limit = imageLimit(this.#maxInputBytes);
    const read = file ? await readImage(file, limit) : undefined;
    // Refused here, with the master's limit: an over-large message would only drop the connection.
    if (read === 'too-large') return this.#setHint(`The image is too large for this master: at most ${fileSizeLabel(limit)} (its TASKWIRE_MAX_INPUT_BYTES).`);
    if (read === null) return this.#setHint('The image could not be read.');
    const imageDataUrl = read;
    const built = buildTaskInput(kind, text, { history: this.#conversation.messages, echoDelayMs: delayMs, imageDataUrl, maxImageChars: limit });
    if (!built.ok) return this.#setHint(built.message);

    const detail = kind === 'sleep' ? `${JSON.stringify(built.input)}` : kind === 'echo' && delayMs > 0 ? `${delayMs} ms between words` : undefined;
    this.#log.addUser(kind, text, detail, imageDataUrl);
    const view = this.#newAnswer(kind);
    if (kind === 'llm') this.#prompts.set(view, text);
    this.#els.message.value = '';
    this.#els.image.value = '';
    this.#autosize();
    this.#setHint('');

    const clientRef = `c${Date.now().toString(36)}-${++this.#refs}`;
    this.#socket
      .timeout(this.#options.submitTimeoutMs)
      .emit('task:submit', { kind, input: built.input, client_ref: clientRef, ...this.#apiKeyFor(kind) }, (err, response) => {
        if (err) {
          view.fail('NO_REPLY', 'The master did not confirm the task in time; it may still run.');
        } else {
          const ack = parseAck(taskInfo, response);
          if (ack.ok) this.#sent.record({ id: ack.data.id, kind, text, at: Date.now(), ...(detail !== undefined && { detail }), ...(imageDataUrl && { image: true }) });
          if (ack.ok) this.#attach(view, ack.data);
          else view.fail(ack.error.code, ack.error.message);
        }
      });
  }

  #newAnswer(kind: string, note?: string): AnswerView {
    const view = new AnswerView(note === undefined ? { kind } : { kind, note });
    view.onStop((taskId) => this.#cancel(view, taskId));
    this.#log.addAnswer(view.element);
    return view;
  }

  #attach(view: AnswerView, task: TaskInfo): void {
    this.#answers.set(task.id, view);
    view.accepted(task);
    if (TERMINAL.has(task.status)) this.#apply(view, { type: 'done', task });
  }

  #route(taskId: string, event: TaskEvent): void {
    const view = this.#answers.get(taskId);
    if (view) return this.#apply(view, event);
    // The master sends a submit's ack before any event of its task (and echoes
    // client_ref), so an unknown task id was submitted elsewhere: another tab,
    // or before this page loaded.
    this.#adopt(taskId, [event]);
  }

  /** Shows a task of this session submitted elsewhere (another tab, or before a reload). */
  #adopt(taskId: string, events: TaskEvent[]): void {
    const first = events.find((e): e is Exclude<TaskEvent, { type: 'chunk' }> => e.type !== 'chunk');
    // Sent from this browser before a reload: the question shows again and an llm answer rejoins the conversation.
    const sent = this.#sent.get(taskId);
    if (sent) this.#log.addUser(sent.kind, sent.image ? `${sent.text}${sent.text ? ' ' : ''}(image not kept after the reload)` : sent.text, sent.detail);
    const beforeReload = sent !== undefined && sent.at < this.#loadedAt;
    const note = beforeReload ? 'Sent before this page was reloaded.' : 'Submitted from another tab.';
    const view = this.#newAnswer(first?.task.kind ?? sent?.kind ?? 'task', note);
    if (beforeReload && sent.kind === 'llm') this.#prompts.set(view, sent.text);
    view.attach(taskId);
    this.#answers.set(taskId, view);
    for (const event of events) this.#apply(view, event);
  }

  #apply(view: AnswerView, event: TaskEvent): void {
    if (event.type === 'chunk') view.chunk(event.chunk);
    else if (event.type === 'update') view.update(event.task);
    else {
      view.finish(event.task);
      const prompt = this.#prompts.get(view);
      if (prompt !== undefined && event.task.status === 'succeeded' && view.text !== '') {
        this.#conversation.addExchange(prompt, view.text);
        this.#refreshComposer();
      }
      this.#prompts.delete(view);
    }
    this.#log.contentChanged();
  }

  #cancel(view: AnswerView, taskId: string): void {
    view.stopping();
    this.#socket.timeout(this.#options.cancelTimeoutMs).emit('task:cancel', { id: taskId }, (err, response) => {
      if (err) return view.stopFailed('the master did not answer.');
      const ack = parseAck(taskInfo, response);
      if (!ack.ok) return view.stopFailed(ack.error.message);
      if (TERMINAL.has(ack.data.status)) this.#apply(view, { type: 'done', task: ack.data });
    });
  }

  #setConnection(state: ConnectionState, detail?: string): void {
    const previous = this.#connection;
    this.#connection = state;
    this.#els.reconnect.hidden = state !== 'disconnected';
    if (state === 'connected' && previous !== 'connected') {
      if (this.#everConnected) this.#resync();
      this.#everConnected = true;
    }
    this.#els.connection.dataset['state'] = state;
    this.#els.connectionLabel.textContent = CONNECTION_LABELS[state];
    this.#els.connection.title = detail ? `${CONNECTION_LABELS[state]} (${detail})` : CONNECTION_LABELS[state];
    this.#refreshComposer();
  }

  /**
   * After a reconnect: events sent while this page was away are lost, so ask
   * the master (REST, same origin) about every answer still waiting, and
   * finish those that ended meanwhile. Later live events still apply.
   */
  #resync(): void {
    for (const [taskId, view] of this.#answers) {
      if (view.done) continue;
      void this.#fetchTask(taskId).then((task) => {
        if (task === undefined || view.done) return;
        if (task === 'missing') {
          view.fail('LOST', 'The master no longer knows this task (it may have restarted); send it again.');
          this.#log.contentChanged();
        } else if (TERMINAL.has(task.status)) this.#apply(view, { type: 'done', task });
        else this.#apply(view, { type: 'update', task });
      });
    }
  }

  /** The task as the master has it now; 'missing' when it does not know it; undefined when unsure. */
  async #fetchTask(taskId: string): Promise<TaskInfo | 'missing' | undefined> {
    try {
      const response = await fetch(`${this.#options.restBase}/tasks/${encodeURIComponent(taskId)}`, {
        headers: { accept: 'application/json' },
      });
      if (response.status === 404) return 'missing';
      if (!response.ok) return undefined;
      const task = taskInfo.safeParse(await response.json());
      return task.success ? task.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** `api_key` for llm tasks when the user pasted one (never stored, never shown again). */
  #apiKeyFor(kind: string): { api_key?: string } {
    const key = this.#els.apiKey.value.trim();
    return kind === 'llm' && key ? { api_key: key } : {};
  }

  #refreshComposer(): void {
    const { kind, delayField, imageField, apiKeyField, newConversation, message, send } = this.#els;
    const selected = kind.value;
    // The first screen says why there is nothing to chat with (once the kinds are known).
    const noLlm = document.getElementById('no-llm');
    if (noLlm) noLlm.hidden = this.#kinds.length === 0 || this.#kinds.includes('llm');
    delayField.hidden = selected !== 'echo';
    imageField.hidden = selected !== 'ocr';
    this.#options.images?.setVisible(selected === 'image');
    apiKeyField.hidden = selected !== 'llm';
    message.placeholder = selected ? placeholderFor(selected) : 'No task kinds available';
    const turns = this.#conversation.turns;
    newConversation.hidden = selected !== 'llm' || turns === 0;
    newConversation.textContent = `New conversation (${plural(turns, 'turn')})`;
    send.disabled = this.#connection !== 'connected' || !selected;
  }

  #autosize(): void {
    const message = this.#els.message;
    message.style.height = 'auto';
    message.style.height = `${Math.min(message.scrollHeight, 200)}px`;
  }

  #setHint(text: string): void {
    this.#els.hint.textContent = text;
  }

  #readKind(): string | undefined {
    try {
      return this.#options.kindStorage?.getItem(KIND_KEY) ?? undefined;
    } catch {
      return undefined;
    }
  }

  #writeKind(kind: string): void {
    try {
      this.#options.kindStorage?.setItem(KIND_KEY, kind);
    } catch {
      // Not remembering the kind is harmless.
    }
  }
}

function warn(event: string, error: unknown): void {
  console.warn(`taskwire: ignored a malformed "${event}" event`, error);
}
