/**
 * The Socket.IO session outbox: a task's events never go out before its
 * ack, and the events of a task already acknowledged are not held behind
 * the session's later submits.
 */
import { describe, expect, it } from 'vitest';
import { SessionOutbox } from '../../master/http/session-outbox.js';

describe('SessionOutbox', () => {
  it('sends at once when no submit of the session is outstanding', () => {
    const o = new SessionOutbox();
    const sent: string[] = [];
    o.send('s', 't1', () => sent.push('t1:update'));
    expect(sent).toEqual(['t1:update']);
    expect(o.size).toBe(0);
  });

  it('holds a task\'s events until its ack, in order', () => {
    const o = new SessionOutbox();
    const sent: string[] = [];
    o.hold('s');
    o.send('s', 't1', () => sent.push('t1:assigned'));
    o.send('s', 't1', () => sent.push('t1:done'));
    expect(sent).toEqual([]);
    sent.push('ack t1');
    o.acked('s', 't1');
    expect(sent).toEqual(['ack t1', 't1:assigned', 't1:done']);
    o.release('s');
    expect(sent).toHaveLength(3);
  });

  it('does not hold an acknowledged task\'s events behind the session\'s next submit', () => {
    const o = new SessionOutbox();
    const sent: string[] = [];
    // A client streaming submits: t2's submit is outstanding before t1's ack, t3's before t2's.
    o.hold('s');
    o.hold('s');
    o.acked('s', 't1');
    o.release('s');
    o.hold('s');
    o.send('s', 't1', () => sent.push('t1:done')); // t2 and t3 still outstanding: t1 was acked
    o.send('s', 't2', () => sent.push('t2:assigned'));
    expect(sent).toEqual(['t1:done']);
    o.acked('s', 't2');
    expect(sent).toEqual(['t1:done', 't2:assigned']);
    o.release('s');
    o.send('s', 't3', () => sent.push('t3:assigned'));
    expect(sent).toEqual(['t1:done', 't2:assigned']);
    o.acked('s', 't3');
    o.release('s');
    expect(sent).toEqual(['t1:done', 't2:assigned', 't3:assigned']);
  });

  it('sends what is still held once no submit is outstanding (a refused submit, a task submitted elsewhere)', () => {
    const o = new SessionOutbox();
    const sent: string[] = [];
    o.hold('s');
    o.send('s', 'other', () => sent.push('other:done'));
    expect(sent).toEqual([]);
    o.release('s');
    expect(sent).toEqual(['other:done']);
    expect(o.size).toBe(0);
  });

  it('forgets a session once its acknowledged tasks are finished', () => {
    const o = new SessionOutbox();
    o.hold('s');
    o.acked('s', 't1');
    o.acked('s', 't2', false); // already final: nothing more will come
    o.release('s');
    expect(o.size).toBe(1);
    o.finished('s', 't1');
    expect(o.size).toBe(0);
  });

  it('is bounded: past maxHeld everything held is sent, in order per task; past maxAcked the oldest is forgotten', () => {
    const o = new SessionOutbox(3, 2);
    const sent: string[] = [];
    o.hold('s');
    o.send('s', 'a', () => sent.push('a1'));
    o.send('s', 'b', () => sent.push('b1'));
    o.send('s', 'a', () => sent.push('a2'));
    expect(sent).toEqual([]);
    o.send('s', 'b', () => sent.push('b2'));
    expect(sent).toEqual(['a1', 'a2', 'b1', 'b2']);
    o.acked('s', 'x');
    o.acked('s', 'y');
    o.acked('s', 'z'); // x forgotten: its events are held again (later, never out of order)
    o.send('s', 'x', () => sent.push('x1'));
    o.send('s', 'z', () => sent.push('z1'));
    expect(sent.slice(4)).toEqual(['z1']);
    o.release('s');
    expect(sent.slice(4)).toEqual(['z1', 'x1']);
  });
});
