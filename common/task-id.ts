/**
 * Time-ordered task ids in the UUIDv7 layout (RFC 9562): 48-bit Unix ms, then
 * a counter for ids of the same millisecond, then random bits. They sort by
 * creation time, so the durable store appends to its primary-key index
 * instead of inserting at random places (far fewer page writes).
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let poolPos = pool.length;
let lastMs = 0;
let counter = 0;

/** `n` random bytes' offset in the pool (refilled from the CSPRNG in 4 KiB steps). */
function randomAt(n: number): number {
  if (poolPos + n > pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const at = poolPos;
  poolPos += n;
  return at;
}

/*
 * An id is written as ASCII into one reused buffer and read out as one flat
 * string: no Buffer per id and no string of five slices joined (a cons
 * string every Map keyed by the id has to flatten), ~0.6 µs an id instead of
 * ~2.2 µs (it is made on every submit).
 */
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const bytes = Buffer.alloc(16);
const text = Buffer.alloc(36, 0x2d); // the dashes stay where no hex digit is written
/** Where each byte's two hex digits go in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

export function newTaskId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    const r = randomAt(2);
    counter = ((pool[r]! << 8) | pool[r + 1]!) & 0x0fff; // random start, room to count up
  } else {
    counter++;
    if (counter > 0x0fff) {
      lastMs++; // more than 4096 ids in one ms: borrow the next millisecond
      counter = 0;
    }
  }
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes.writeUInt16BE(0x7000 | counter, 6); // version 7 + 12-bit counter
  pool.copy(bytes, 8, randomAt(8), poolPos);
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  for (let i = 0; i < 16; i++) {
    const b = bytes[i]!;
    text[AT[i]!] = HEX[b >> 4]!;
    text[AT[i]! + 1] = HEX[b & 15]!;
  }
  return text.toString('latin1', 0, 36);
}
