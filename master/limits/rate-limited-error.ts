/**
 * A submit refused by a limit or quota: RESOURCE_EXHAUSTED, so every surface
 * answers it as its 429 (REST `{error: {code}}`, OpenAI `rate_limit_exceeded`,
 * KServe `{"error"}`, the chat's error ack), with the rate-limit fields.
 */
import { ResourceExhaustedError } from '../../common/errors.js';
import type { Meter } from './limit-plan.js';
import { type LimitState, rateLimitHeaders, retryAfterSeconds } from './rate-limit-headers.js';

const WHAT: Record<Meter['field'], string> = {
  requests_per_minute: 'requests',
  tokens_per_minute: 'tokens',
  concurrent_tasks: 'unfinished tasks',
  requests_per_day: 'requests today',
  requests_per_month: 'requests this month',
  tokens_per_day: 'tokens today',
  tokens_per_month: 'tokens this month',
};

export class RateLimitedError extends ResourceExhaustedError {
  constructor(
    readonly meter: Meter,
    readonly state: LimitState,
    asked: number,
    nowMs: number,
  ) {
    const who = meter.storeKey.split('|')[0]!.replace(':', ' ');
    const per = meter.field.endsWith('_minute') ? ` per ${meter.windowS} s` : '';
    const slot = meter.storeKey.split('|')[1];
    const model = slot && slot !== '*' ? ` for model ${slot}` : '';
    const retry = retryAfterSeconds(state.resetMs);
    const tooBig = asked > meter.limit ? ` (this request alone needs ${asked})` : '';
    super(`rate limit reached: ${meter.limit} ${WHAT[meter.field]}${per}${model} for ${who}${tooBig}; retry in ${retry} s`, retry, rateLimitHeaders(state, nowMs));
    this.name = 'RateLimitedError';
  }
}
