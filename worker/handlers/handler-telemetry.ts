/**
 * What a handler reports about its own work, through `ctx.telemetry` (absent
 * when the worker keeps no metrics and does not trace: handlers use `?.`).
 * The worker turns it into metrics (worker/metrics-registry.ts) and, when
 * the attempt is traced, child spans of the attempt's run span
 * (worker/attempt-telemetry.ts). Labels must stay bounded: pass configured
 * provider and model names, never user text.
 */
/** One call to an LLM provider: `firstToken()` at the first delta, `end()` once. */
export interface ProviderCall {
  firstToken(): void;
  /** `code`: the TaskFailure code when the call failed; `usage` when the provider reported it. */
  end(result: { code?: string; usage?: { prompt_tokens: number; completion_tokens: number } }): void;
}

export interface InferenceRun {
  /** A model the worker serves (`OTHER` for a name it does not know). */
  model: string;
  ok: boolean;
  queueMs?: number;
  computeMs?: number;
  /** Rows of the batch the request ran in. */
  batchRows?: number;
}

export interface HandlerTelemetry {
  providerCall(provider: string, model: string): ProviderCall;
  inference(run: InferenceRun): void;
}
