/**
 * Per-attempt result tokens: HMAC-SHA256 over (task id, attempt, worker id)
 * with the master's secret. Only the worker that received the assignment on
 * its own (ACL-protected) tasks topic learns the token, so results cannot be
 * forged by other clients, and a token from a superseded attempt does not
 * validate the current one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export class ResultTokens {
  private readonly key: Buffer;

  constructor(secret: string | Buffer = randomBytes(32)) {
    this.key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (this.key.length < 16) throw new Error('result token secret must be at least 16 bytes');
  }

  issue(taskId: string, attempt: number, workerId: string): string {
    return createHmac('sha256', this.key)
      .update(`${taskId}\n${attempt}\n${workerId}`)
      .digest('base64url');
  }

  verify(token: string, taskId: string, attempt: number, workerId: string): boolean {
    const expected = Buffer.from(this.issue(taskId, attempt, workerId));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
