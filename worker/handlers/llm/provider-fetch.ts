/**
 * The HTTP calls adapters make, on Node's global fetch (or an injected one):
 * the task's AbortSignal goes to fetch, so cancelling closes the upstream
 * request; non-2xx answers become TaskFailure via provider-errors.ts.
 */
import { TaskFailure } from '../task-handler.js';
import { httpFailure, readErrorText, transportFailure } from './provider-errors.js';

export type FetchFn = typeof fetch;

export interface ProviderCall {
  provider: string;
  fetch: FetchFn;
  /** The key in use, so error messages can be scrubbed of it. */
  secret: string | undefined;
}

/** Sends a request and returns the response when it is 2xx; throws TaskFailure otherwise. */
export async function providerFetch(call: ProviderCall, url: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await call.fetch(url, { ...init, signal });
  } catch (err) {
    throw transportFailure(call.provider, err, signal, call.secret);
  }
  if (!res.ok) {
    const text = await readErrorText(res);
    throw httpFailure(call.provider, res.status, text, call.secret);
  }
  return res;
}

/** Reads a 2xx JSON body; a body that is not JSON is a PROVIDER_ERROR. */
export async function readJson(call: ProviderCall, res: Response, signal: AbortSignal): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw transportFailure(call.provider, err, signal, call.secret);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TaskFailure('PROVIDER_ERROR', `${call.provider}: answer is not JSON`, { retryable: false });
  }
}

export function jsonPost(body: unknown, headers: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  };
}
