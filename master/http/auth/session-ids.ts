/**
 * Chat session ids are issued by the master, never chosen by a client:
 * `<22 random base64url chars><16-char HMAC tag>` (38 characters), the tag binding the id to
 * the principal it was issued to (keyed by a secret kept with the tasks, so an
 * id survives a restart). A presented id is accepted only when its tag matches
 * the caller's principal and it was used within the idle time
 * (`TASKWIRE_SESSION_IDLE_MS`); otherwise the caller gets a fresh one.
 *
 * Last use is kept in memory: an id this process has not seen counts as last
 * used when the master started.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../../common/clock.js';
import type { Principal } from './principal.js';

export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{38}$/;

export interface SessionIdsOptions {
  /** Key of the tags (e.g. derived from the master's persisted result secret). */
  secret: string;
  idleMs: number;
  clock: Clock;
}

export class SessionIds {
  private readonly lastUsed = new Map<string, number>();
  private readonly key: Buffer;
  private readonly startedAtMs: number;

  constructor(private readonly options: SessionIdsOptions) {
    this.startedAtMs = options.clock.now();
    this.key = createHmac('sha256', options.secret).update('taskwire session ids v1').digest();
  }

  private tag(random: string, principal: Principal): string {
    return createHmac('sha256', this.key).update(`${principal.tenant}\u0000${principal.id}\u0000${random}`).digest('base64url').slice(0, 16);
  }

  issue(principal: Principal): string {
    const random = randomBytes(16).toString('base64url');
    const id = `${random}${this.tag(random, principal)}`;
    this.touch(id);
    return id;
  }

  /** The presented id when valid for this principal and not idle too long; else a fresh one. */
  resolve(presented: unknown, principal: Principal): { sessionId: string; resumed: boolean } {
    if (typeof presented === 'string' && this.valid(presented, principal)) {
      this.touch(presented);
      return { sessionId: presented, resumed: true };
    }
    return { sessionId: this.issue(principal), resumed: false };
  }

  valid(id: string, principal: Principal): boolean {
    if (!SESSION_ID_PATTERN.test(id)) return false;
    const random = id.slice(0, 22);
    const tag = id.slice(22);
    const want = Buffer.from(this.tag(random, principal));
    if (!timingSafeEqual(want, Buffer.from(tag))) return false;
    // Not seen by this process: last used before it started (or swept as idle).
    const last = this.lastUsed.get(id) ?? this.startedAtMs;
    return this.options.clock.now() - last <= this.options.idleMs;
  }

  /** Marks the session used now (connect, submit, cancel). */
  touch(id: string): void {
    const now = this.options.clock.now();
    this.lastUsed.delete(id);
    this.lastUsed.set(id, now);
    // Insertion order is use order: drop what idled out from the front.
    for (const [k, t] of this.lastUsed) {
      if (now - t <= this.options.idleMs) break;
      this.lastUsed.delete(k);
    }
  }
}
