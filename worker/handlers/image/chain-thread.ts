/**
 * Entry of an image chain thread (node:worker_threads): runs runChain for
 * the main thread, one image at a time. Its isolate holds only sharp and the
 * chain code, so the full garbage collections that sharp's large pixel
 * buffers set off (V8 collects on external memory pressure, about once per
 * 4K image) mark a few MB instead of the worker's whole heap (MQTT, gRPC,
 * logging, metrics: about 28 MB, some 30 ms per collection).
 */
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { ImageError, runChain } from './image-ops.js';
import type { FromChainThread, ToChainThread } from './chain-protocol.js';

const port = parentPort;
if (!port) throw new Error('chain-thread.ts runs as a worker thread');

// Loading sharp in this thread turned libvips' operation cache back on (sharp calls cache(true) at
// load; the setting is the process's): one libvips thread per image, no cache, as image-handler.ts.
sharp.concurrency(1);
sharp.cache(false);

const running = new Map<number, AbortController>();

port.on('message', (msg: ToChainThread) => {
  if (msg.op === 'cancel') {
    running.get(msg.id)?.abort();
    return;
  }
  const ac = new AbortController();
  running.set(msg.id, ac);
  const given = msg.input;
  let unread = false;
  // A file is read here, so its bytes (an input is megabytes) are this isolate's to collect, not the worker's.
  const input =
    'file' in given
      ? readFile(given.file).catch((err: unknown) => {
          unread = true;
          throw err;
        })
      : Promise.resolve(Buffer.from(given.buffer, given.byteOffset, given.byteLength));
  input.then((data) => runChain(data, msg.ops, { maxPixels: msg.maxPixels }, ac.signal)).then(
    (r) => {
      running.delete(msg.id);
      port.postMessage({ op: 'done', id: msg.id, data: r.data, width: r.width, height: r.height, format: r.format, contentType: r.contentType } satisfies FromChainThread);
    },
    (err: unknown) => {
      running.delete(msg.id);
      port.postMessage({
        op: 'failed',
        id: msg.id,
        message: (err as Error)?.message ?? String(err),
        image: err instanceof ImageError,
        unread,
        aborted: ac.signal.aborted,
      } satisfies FromChainThread);
    },
  );
});

port.postMessage({ op: 'ready' } satisfies FromChainThread);
