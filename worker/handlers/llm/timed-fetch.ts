/**
 * A fetch for provider calls with two timeouts, so a provider that stalls
 * cannot hold an attempt for fetch's own minutes:
 *  - first byte: the response headers must arrive within `firstByteMs`;
 *  - idle: once they did, the body must deliver some bytes at least every
 *    `idleMs` (a stream that goes quiet mid-answer is cut).
 * Either one aborts the upstream request and fails with a retryable
 * PROVIDER_UNAVAILABLE that says which timeout fired, so the master retries
 * the task elsewhere. The caller's AbortSignal still cancels as before.
 */
import { TaskFailure } from '../task-handler.js';
import type { FetchFn } from './provider-fetch.js';

export interface ProviderTimeouts {
  /** Ms from sending the request to the response headers. */
  firstByteMs: number;
  /** Ms of silence allowed between body bytes. */
  idleMs: number;
}

export const PROVIDER_TIMEOUT_DEFAULTS: ProviderTimeouts = { firstByteMs: 60_000, idleMs: 120_000 };

export function timedFetch(provider: string, inner: FetchFn, timeouts: ProviderTimeouts): FetchFn {
  return async (input, init) => {
    const controller = new AbortController();
    const outer = init?.signal ?? undefined;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) onOuterAbort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    const timeout = (what: string, ms: number) =>
      new TaskFailure('PROVIDER_UNAVAILABLE', `${provider}: ${what} within ${ms} ms`, { retryable: true });

    let timer: NodeJS.Timeout | undefined = setTimeout(
      () => controller.abort(timeout('no response headers', timeouts.firstByteMs)),
      timeouts.firstByteMs,
    );
    const done = () => {
      clearTimeout(timer);
      timer = undefined;
      outer?.removeEventListener('abort', onOuterAbort);
    };
    let res: Response;
    try {
      res = await inner(input, { ...init, signal: controller.signal });
    } catch (err) {
      done();
      // The timeout's own failure, not undici's generic AbortError.
      if (controller.signal.aborted && !outer?.aborted && controller.signal.reason instanceof TaskFailure) throw controller.signal.reason;
      throw err;
    }
    clearTimeout(timer);
    if (!res.body) {
      done();
      return res;
    }
    const reader = res.body.getReader();
    let idle: TaskFailure | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = timeout('no data from the provider', timeouts.idleMs);
        controller.abort(idle);
        void reader.cancel(idle).catch(() => undefined);
      }, timeouts.idleMs);
    };
    arm();
    const body = new ReadableStream<Uint8Array>({
      async pull(out) {
        try {
          const { done: end, value } = await reader.read();
          if (idle) throw idle;
          if (end) {
            done();
            out.close();
            return;
          }
          arm();
          out.enqueue(value);
        } catch (err) {
          done();
          out.error(idle ?? err);
        }
      },
      async cancel(reason) {
        done();
        await reader.cancel(reason).catch(() => undefined);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
