/**
 * One answer bubble: a loading indicator while the task waits or runs, the
 * text as `task:chunk` events stream in, then the final status, result and
 * metadata from `task:done`. Every server string goes in with textContent.
 */
import { h, replaceChildren } from './dom.js';
import { formatMs, queueLabel, statusLabel } from './format.js';
import { renderMarkdown } from './markdown-view.js';
import { resultText, type ChunkInfo, type TaskInfo } from './server-events.js';

type Phase = 'submitting' | 'active' | 'done';

const WAITING_LABELS: Readonly<Record<string, string>> = {
  queued: 'Waiting for a worker…',
  assigned: 'Assigned, starting…',
  running: 'Working…',
};

export interface AnswerViewOptions {
  kind: string;
  /** Shown above answers to tasks this page did not submit (another tab, before a reload). */
  note?: string;
}

export class AnswerView {
  readonly element: HTMLLIElement;
  readonly kind: string;
  #phase: Phase = 'submitting';
  #taskId: string | null = null;
  #lastSeq = -1;
  #attempt = 1;
  #streamed = '';
  #stopListener: ((taskId: string) => void) | null = null;

  readonly #status: HTMLSpanElement;
  readonly #text: HTMLDivElement;
  readonly #streamNode: Text;
  readonly #json: HTMLPreElement;
  readonly #loading: HTMLDivElement;
  readonly #loadingLabel: HTMLSpanElement;
  readonly #error: HTMLDivElement;
  readonly #notice: HTMLParagraphElement;
  readonly #stop: HTMLButtonElement;
  readonly #stopLabel: HTMLSpanElement;
  readonly #meta: HTMLDListElement;

  constructor(options: AnswerViewOptions) {
    this.kind = options.kind;
    this.#status = h('span', { class: 'status-pill', 'data-status': 'submitting' }, ['Sending']);
    this.#streamNode = document.createTextNode('');
    this.#text = h('div', { class: 'answer-text', 'aria-live': 'polite', 'aria-busy': 'true' }, [this.#streamNode]);
    this.#json = h('pre', { class: 'answer-json', hidden: true });
    this.#loadingLabel = h('span', { class: 'loading-label' }, ['Sending…']);
    this.#loading = h('div', { class: 'loading', role: 'status' }, [
      h('span', { class: 'dots', 'aria-hidden': 'true' }, [h('span'), h('span'), h('span')]),
      this.#loadingLabel,
    ]);
    this.#error = h('div', { class: 'answer-error', role: 'alert', hidden: true });
    this.#notice = h('p', { class: 'answer-notice', hidden: true });
    this.#stopLabel = h('span', {}, ['Stop']);
    this.#stop = h('button', { type: 'button', class: 'stop-button', disabled: true, title: 'Stop this task' }, [
      h('span', { class: 'stop-icon', 'aria-hidden': 'true' }),
      this.#stopLabel,
    ]);
    this.#stop.addEventListener('click', () => {
      if (this.#taskId && this.#stopListener) this.#stopListener(this.#taskId);
    });
    this.#meta = h('dl', { class: 'answer-meta', hidden: true });

    this.element = h('li', { class: 'turn turn--answer', 'data-kind': options.kind, 'data-status': 'submitting' }, [
      h('div', { class: 'bubble' }, [
        h('div', { class: 'answer-head' }, [h('span', { class: 'kind-badge' }, [options.kind]), this.#status]),
        options.note ? h('p', { class: 'answer-origin' }, [options.note]) : null,
        this.#text,
        this.#json,
        this.#loading,
        this.#error,
        this.#notice,
        h('div', { class: 'answer-actions' }, [this.#stop]),
        this.#meta,
      ]),
    ]);
  }

  get taskId(): string | null {
    return this.#taskId;
  }

  get done(): boolean {
    return this.#phase === 'done';
  }

  /** The text streamed or returned so far. */
  get text(): string {
    return this.#streamed;
  }

  onStop(listener: (taskId: string) => void): void {
    this.#stopListener = listener;
  }

  /** The task has an id now: the master accepted it, or it was submitted elsewhere. */
  attach(taskId: string): void {
    if (this.#phase === 'done' || this.#taskId !== null) return;
    this.#taskId = taskId;
    this.element.dataset['taskId'] = taskId;
    this.#phase = 'active';
    this.#stop.disabled = false;
    this.#loadingLabel.textContent = 'Accepted…';
  }

  /** The submit ack: the task as the master stored it. */
  accepted(task: TaskInfo): void {
    this.attach(task.id);
    this.update(task);
  }

  /** `task:update`: queued, assigned, running. */
  update(task: TaskInfo): void {
    if (this.#phase === 'done') return;
    this.#setStatus(task.status);
    const waiting =
      task.status === 'queued' && task.queue_position !== undefined
        ? queueLabel(task.queue_position, task.eta_ms ?? null)
        : (WAITING_LABELS[task.status] ?? `${statusLabel(task.status)}…`);
    const where = task.worker_id && task.status !== 'queued' ? ` (${task.worker_id})` : '';
    const retry = task.attempt > 1 ? ` – attempt ${task.attempt}` : '';
    this.#loadingLabel.textContent = `${waiting}${where}${retry}`;
  }

  /**
   * `task:chunk`: appends streamed text; replays and duplicates (seq already seen) are ignored.
   * A chunk of a newer attempt (a retry) starts the answer over: text of two attempts never mixes.
   */
  chunk(chunk: ChunkInfo): void {
    const attempt = chunk.attempt ?? 1;
    if (this.#phase === 'done' || attempt < this.#attempt) return;
    if (attempt > this.#attempt) {
      this.#attempt = attempt;
      this.#lastSeq = -1;
      this.#streamed = '';
      this.#streamNode.data = '';
    }
    if (chunk.seq <= this.#lastSeq) return;
    this.#lastSeq = chunk.seq;
    if (chunk.text === '') return;
    this.#streamed += chunk.text;
    this.#streamNode.appendData(chunk.text);
    this.element.classList.add('is-streaming');
    if (this.#loadingLabel.textContent !== 'Streaming…') this.#loadingLabel.textContent = 'Streaming…';
  }

  /** `task:done`: final status, result and metadata. */
  finish(task: TaskInfo): void {
    if (this.#phase === 'done') return;
    if (this.#taskId === null) this.accepted(task);
    this.#phase = 'done';
    this.#setStatus(task.status);

    const finalText = resultText(task.result);
    if (finalText !== null) {
      // The result is authoritative: it also covers chunks missed while reconnecting.
      if (finalText !== this.#streamed) {
        this.#streamed = finalText;
        this.#streamNode.data = finalText;
      }
    } else if (task.result !== null && task.result !== undefined && task.status === 'succeeded') {
      this.#json.textContent = JSON.stringify(task.result, null, 2);
      this.#json.hidden = false;
    }
    // A language model's answer is Markdown: shown formatted once complete (built from Text nodes only).
    if (this.kind === 'llm' && task.status === 'succeeded' && this.#streamed !== '') {
      replaceChildren(this.#text, renderMarkdown(this.#streamed));
      this.#text.classList.add('md');
    }
    // After the final text is in: an answer with no text at all hides its empty text box.
    this.#endLoading();
    if (task.status === 'succeeded' && this.#streamed === '' && this.#json.hidden) {
      this.#showNotice(this.kind === 'sleep' ? 'Slept and woke up.' : 'Finished with no output.');
    }

    if (task.status === 'cancelled') {
      // Usually the user's own stop: a notice, not an alarm.
      this.#showNotice(task.error ? `Cancelled: ${task.error.message}.` : 'Cancelled before it finished.');
    } else if (task.error) {
      this.#showError(task.error.code, task.error.message);
    } else if (task.status === 'expired') {
      this.#showError('EXPIRED', 'No worker finished this task before its deadline.');
    } else if (task.status === 'failed') {
      this.#showError('FAILED', 'The task failed without a reason.');
    }
    this.#renderMeta(task);
  }

  /** The submit itself failed (refused by the master, no reply, disconnected). */
  fail(code: string, message: string): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#setStatus('failed');
    this.#endLoading();
    this.#showError(code, message);
  }

  /** Stop was requested: the button waits for the master's answer. */
  stopping(): void {
    this.#stop.disabled = true;
    this.#stopLabel.textContent = 'Stopping…';
  }

  /** The master refused or did not answer the stop request. */
  stopFailed(message: string): void {
    if (this.#phase === 'done') return;
    this.#stop.disabled = false;
    this.#stopLabel.textContent = 'Stop';
    this.#showNotice(`Could not stop: ${message}`);
  }

  #setStatus(status: string): void {
    this.element.dataset['status'] = status;
    this.#status.dataset['status'] = status;
    this.#status.textContent = statusLabel(status);
  }

  #endLoading(): void {
    this.#loading.remove();
    this.#stop.parentElement?.remove();
    this.#text.setAttribute('aria-busy', 'false');
    this.element.classList.remove('is-streaming');
    if (this.#streamed === '') this.#text.hidden = true;
  }

  #showError(code: string, message: string): void {
    replaceChildren(this.#error, [h('strong', { class: 'error-code' }, [code]), ' ', message]);
    this.#error.hidden = false;
  }

  #showNotice(message: string): void {
    this.#notice.textContent = message;
    this.#notice.hidden = false;
  }

  #renderMeta(task: TaskInfo): void {
    const worker = task.worker_id
      ? `${task.worker_id}${task.worker_language ? ` (${task.worker_language})` : ''}`
      : 'none';
    const rows: [field: string, label: string, value: string][] = [
      ['status', 'Status', statusLabel(task.status)],
      ['worker', 'Worker', worker],
      ['queue-wait', 'Queue wait', formatMs(task.timings.queue_wait_ms)],
      ['processing', 'Processing', formatMs(task.timings.processing_ms)],
      ['attempt', 'Attempt', String(task.attempt)],
    ];
    if (task.timings.ttft_ms !== null && task.timings.ttft_ms !== undefined) {
      rows.push(['ttft', 'First output', formatMs(task.timings.ttft_ms)]);
    }
    const model = modelOf(task.result);
    if (model) rows.push(['model', 'Model', model]);
    if (task.usage) rows.push(['tokens', 'Tokens', `${task.usage.prompt_tokens} in, ${task.usage.completion_tokens} out`]);
    rows.push(['task-id', 'Task', task.id]);
    replaceChildren(
      this.#meta,
      rows.map(([field, label, value]) =>
        h('div', { class: 'meta-item', 'data-field': field }, [h('dt', {}, [label]), h('dd', {}, [value])]),
      ),
    );
    this.#meta.hidden = false;
  }
}

/** "gemini-2.5-flash (gemini)" from an llm result's `model` and `provider`, if it has them. */
function modelOf(result: unknown): string | null {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return null;
  const { model, provider } = result as Record<string, unknown>;
  if (typeof model !== 'string' || model === '') return null;
  return typeof provider === 'string' && provider !== '' ? `${model} (${provider})` : model;
}
