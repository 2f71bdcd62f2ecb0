/**
 * Cool-down of a provider that keeps failing: after `failureThreshold`
 * retryable failures in a row it is not ready for `cooldownMs` (its models
 * advertise ready=false, so the master schedules elsewhere), and `onChange`
 * fires when the cool-down starts and again when it ends. One success resets
 * the count. cooldownMs = 0 disables cool-downs.
 */
import { systemClock, type Clock } from '../../../common/clock.js';

export interface ProviderHealthOptions {
  failureThreshold: number;
  cooldownMs: number;
  onChange: () => void;
  clock?: Clock;
}

export class ProviderHealth {
  private readonly options: ProviderHealthOptions;
  private readonly clock: Clock;
  private failures = 0;
  private coolUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: ProviderHealthOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
  }

  ready(): boolean {
    return this.clock.now() >= this.coolUntil;
  }

  /** Milliseconds left in the cool-down (0 when ready). */
  remainingMs(): number {
    return Math.max(0, this.coolUntil - this.clock.now());
  }

  recordSuccess(): void {
    this.failures = 0;
  }

  /** Counts a retryable failure; returns true when this one started a cool-down. */
  recordFailure(): boolean {
    if (this.closed || this.options.cooldownMs <= 0 || !this.ready()) return false;
    this.failures += 1;
    if (this.failures < this.options.failureThreshold) return false;
    this.failures = 0;
    this.coolUntil = this.clock.now() + this.options.cooldownMs;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // The timer ends the cool-down: timers and Date.now() can disagree by a
      // millisecond, and a change announced as "still not ready" would not be
      // followed by another one (the status would say unready until its next
      // periodic publish).
      this.coolUntil = 0;
      if (!this.closed) this.options.onChange();
    }, this.options.cooldownMs);
    this.timer.unref();
    this.options.onChange();
    return true;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
