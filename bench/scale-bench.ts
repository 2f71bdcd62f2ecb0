/**
 * `npm run bench -- scale` (issue "Fast at scale"): many workers
 * (workers-bench.ts) and streaming (stream-bench.ts), each figure printed
 * next to its target.
 */
import { printStreamBench, runStreamBench, type StreamBenchResult } from './stream-bench.js';
import { printWorkersBench, runWorkersBench, type WorkersBenchResult } from './workers-bench.js';

export interface ScaleBenchResult {
  streams?: StreamBenchResult;
  workers?: WorkersBenchResult;
}

export async function runScaleBench(o: { quick?: boolean; only?: string[] } = {}): Promise<ScaleBenchResult> {
  const want = (x: string) => !o.only || o.only.length === 0 || o.only.includes(x);
  const out: ScaleBenchResult = {};
  if (want('streams')) {
    out.streams = await runStreamBench(o);
    printStreamBench(out.streams);
  }
  if (want('workers')) {
    out.workers = await runWorkersBench(o);
    printWorkersBench(out.workers);
  }
  return out;
}
