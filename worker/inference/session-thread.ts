/**
 * Entry of a session thread (node:worker_threads): owns one onnxruntime
 * InferenceSession and runs it off the main thread, one request at a time.
 *
 * Self-contained on purpose: at run time it imports only node builtins and
 * onnxruntime-node (the other imports are types), so thread-entry.ts can
 * transpile this one file when the engine runs from TypeScript sources.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import type { FromThread, ThreadLoadOptions, ThreadValueMetadata, ToThread } from './thread-protocol.js';
import type { OrtType, WireFeeds, WireTensor } from './wire-tensor.js';

type Session = Awaited<ReturnType<typeof ort.InferenceSession.create>>;

const port = parentPort;
if (!port) throw new Error('session-thread must run in a worker thread');

let session: Session | undefined;
let chain: Promise<void> = Promise.resolve();

function post(msg: FromThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function metadata(list: Session['inputMetadata']): ThreadValueMetadata[] {
  return list.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type as OrtType, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) }
      : { name: m.name, type: '', shape: [] },
  );
}

function toOrt(t: WireTensor): ort.Tensor {
  if (t.type === 'string') return new ort.Tensor('string', t.strings ?? [], t.dims);
  let data: ort.Tensor.DataType;
  switch (t.type) {
    case 'float32':
      data = new Float32Array(t.data);
      break;
    case 'float64':
      data = new Float64Array(t.data);
      break;
    case 'int8':
      data = new Int8Array(t.data);
      break;
    case 'int16':
      data = new Int16Array(t.data);
      break;
    case 'int32':
      data = new Int32Array(t.data);
      break;
    case 'int64':
      data = new BigInt64Array(t.data);
      break;
    case 'uint16':
    case 'float16':
      data = new Uint16Array(t.data);
      break;
    case 'uint32':
      data = new Uint32Array(t.data);
      break;
    case 'uint64':
      data = new BigUint64Array(t.data);
      break;
    default:
      data = new Uint8Array(t.data);
  }
  return new ort.Tensor(t.type, data, t.dims);
}

function fromOrt(v: ort.OnnxValue, transfer: ArrayBuffer[]): WireTensor {
  const t = v as ort.Tensor;
  const dims = [...t.dims];
  if (t.type === 'string') return { type: 'string', dims, data: new ArrayBuffer(0), strings: Array.from(t.data as string[]) };
  const view = t.data as ArrayBufferView;
  const exact = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
  const data = exact ? (view.buffer as ArrayBuffer) : (view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer);
  transfer.push(data);
  return { type: t.type as OrtType, dims, data };
}

function zeros(m: ThreadValueMetadata, warmupDim: number): ort.Tensor {
  const dims = m.shape.map((d, i) => (d >= 0 ? d : i === 0 ? 1 : warmupDim));
  const n = dims.reduce((a, b) => a * b, 1);
  const type = (m.type || 'float32') as OrtType;
  if (type === 'string') return new ort.Tensor('string', new Array<string>(n).fill(''), dims);
  const bytes = { bool: 1, uint8: 1, int8: 1, uint16: 2, int16: 2, float16: 2, uint32: 4, int32: 4, float32: 4, uint64: 8, int64: 8, float64: 8 }[type];
  return toOrt({ type, dims, data: new ArrayBuffer(n * bytes) });
}

async function load(o: ThreadLoadOptions): Promise<void> {
  const started = performance.now();
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: o.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // idle intra-op threads must not spin: cores are shared with other sessions
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  let executionProvider: 'cpu' | 'cuda' = 'cpu';
  let fallbackReason: string | undefined;
  if (o.executionProvider === 'cuda') {
    try {
      session = await ort.InferenceSession.create(o.modelPath, { ...base, executionProviders: ['cuda'] });
      executionProvider = 'cuda';
    } catch (err) {
      fallbackReason = err instanceof Error ? err.message : String(err);
    }
  }
  session ??= await ort.InferenceSession.create(o.modelPath, { ...base, executionProviders: ['cpu'] });
  const inputs = metadata(session.inputMetadata);
  const outputs = metadata(session.outputMetadata);
  let warmupError: string | undefined;
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const m of inputs) feeds[m.name] = zeros(m, o.warmupDim);
    const out = await session.run(feeds);
    for (const v of Object.values(out)) (v as ort.Tensor).dispose?.();
  } catch (err) {
    warmupError = err instanceof Error ? err.message : String(err);
  }
  post({
    op: 'loaded',
    inputs,
    outputs,
    executionProvider,
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
    ...(warmupError !== undefined ? { warmupError } : {}),
    loadMs: performance.now() - started,
  });
}

async function run(id: number, feeds: WireFeeds): Promise<void> {
  if (!session) throw new Error('no model loaded');
  const input: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) input[name] = toOrt(t);
  const out = await session.run(input);
  const transfer: ArrayBuffer[] = [];
  const outputs: WireFeeds = {};
  for (const [name, v] of Object.entries(out)) outputs[name] = fromOrt(v, transfer);
  post({ op: 'result', id, outputs }, transfer);
}

async function handle(msg: ToThread): Promise<void> {
  switch (msg.op) {
    case 'load':
      try {
        await load(msg.options);
      } catch (err) {
        post({ op: 'load-error', message: err instanceof Error ? err.message : String(err) });
      }
      return;
    case 'run':
      try {
        await run(msg.id, msg.feeds);
      } catch (err) {
        post({ op: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
      }
      return;
    case 'close':
      try {
        await session?.release();
      } finally {
        session = undefined;
        post({ op: 'closed' });
        port!.close();
      }
      return;
  }
}

port.on('message', (msg: ToThread) => {
  chain = chain.then(() => handle(msg));
});
