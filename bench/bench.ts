/**
 * `npm run bench [-- core|store|gateway|placement|inference|images|eta|fair|fair-master|overhead|search|logs|dashboard-cost|backlog|scale [streams|workers]|quick]`: runs the benchmarks, prints tables and
 * writes bench/results/latest.json. Only 127.0.0.1 is used; every process
 * started is stopped.
 *
 * BullMQ + Redis side by side (issue 21): `core` (no-op throughput with 1 and 4
 * worker processes, memory and durable, latency at 200 tasks/s) and `backlog`
 * (1M queued: RSS, a page of 50, drain) run the same job on BullMQ right
 * after each taskwire run, alternating, and print both figures and the ratio
 * taskwire / BullMQ (bullmq-bench.ts, peer-compare.ts). It needs `redis-server`
 * on PATH (Debian `redis-server`; the bench starts its own on 127.0.0.1 in a
 * temp dir and kills it) and prints "skipped: redis-server not installed"
 * without it; TASKWIRE_BENCH_PEER=0 turns it off.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printCoreBench, runCoreBench } from './core-bench.js';
import { printGatewayBench, runGatewayBench } from './gateway-bench.js';
import { runInferenceBench } from './inference.js';
import { printPlacementBench, runPlacementBench } from './placement-bench.js';
import { printImageBench, runImageBench } from './image-bench.js';
import { printEtaBench, runEtaBench } from './eta-bench.js';
import { printSearchBench, runSearchBench } from './search-bench.js';
import { printStoreBench, runStoreBench } from './store-bench.js';
import { printFairShareBench, runFairShareBench } from './fair-share-bench.js';
import { printFairMasterBench, runFairMasterBench } from './fair-master-bench.js';
import { printOverheadBench, runOverheadBench } from './overhead-bench.js';
import { runScaleBench } from './scale-bench.js';
import { printLogsBench, runLogsBench } from './logs-bench.js';
import { printMultiMasterBench, runMultiMasterBench } from './multi-master-bench.js';
import { printDashboardCostBench, runDashboardCostBench } from './dashboard-cost-bench.js';
import { printBacklogBench, runBacklogBench, runBacklogPeer } from './backlog-bench.js';
import { printRelayBench, runRelayBench } from './relay-bench.js';

const args = new Set(process.argv.slice(2));
const quick = args.has('quick') || args.has('--quick');
const only = [...args].filter((a) => !a.startsWith('-') && a !== 'quick');
const want = (name: string) => only.length === 0 || only.includes(name);

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model,
};
if (want('core')) {
  const core = await runCoreBench({ quick });
  printCoreBench(core);
  results.core = core;
}
// SQLite vs PostgreSQL (a local server it starts; skipped, saying why, without Debian postgresql).
if (want('store')) {
  const store = await runStoreBench({ quick });
  printStoreBench(store);
  results.store = store;
}
// Listings with 1,000,000 queued tasks (about a minute): only when asked for by name.
if (only.includes('backlog')) {
  const backlog = await runBacklogBench({ quick });
  backlog.peer = await runBacklogPeer({ quick });
  printBacklogBench(backlog);
  results.backlog = backlog;
}
// 1 vs 2 masters on PostgreSQL (TASKWIRE_MASTERS=multi; a local PostgreSQL and Mosquitto, processes): only when asked for by name.
if (only.includes('multi-master')) {
  const mm = await runMultiMasterBench({ quick });
  printMultiMasterBench(mm);
  results.multi_master = mm;
}
// The multi-master chunk relay's CPU per chunk (in process, seconds): only when asked for by name.
if (only.includes('relay')) {
  const relay = await runRelayBench({ quick });
  printRelayBench(relay);
  results.relay = relay;
}
if (want('gateway')) {
  const gateway = await runGatewayBench({ quick });
  printGatewayBench(gateway);
  results.gateway = gateway;
}
if (want('placement')) {
  const placement = runPlacementBench({ quick });
  printPlacementBench(placement);
  results.placement = placement;
}
if (want('inference')) {
  results.inference = await runInferenceBench({ quick });
}
// Heavy (4K images): only when asked for by name.
if (only.includes('images')) {
  const volumes = process.env.TASKWIRE_BENCH_IMAGE_VOLUMES?.split(',').filter(Boolean).map(Number);
  const images = await runImageBench({ quick, volumes });
  printImageBench(images);
  results.images = images;
}
// Queue-wait estimate vs actual start (about 10 s): only when asked for by name.
if (only.includes('eta')) {
  const eta = await runEtaBench({ quick });
  printEtaBench(eta);
  results.eta = eta;
}
// Weighted-fair dispatch, virtual clock (a few seconds): only when asked for by name.
if (only.includes('fair')) {
  const fair = runFairShareBench({ quick });
  printFairShareBench(fair);
  results.fair = fair;
}
// The same on a real master with a 100k backlog (about a minute): only when asked for by name.
if (only.includes('fair-master')) {
  const fairMaster = await runFairMasterBench({ quick });
  printFairMasterBench(fairMaster);
  results.fair_master = fairMaster;
}
// Metrics and tracing on vs off, alternating (a few minutes): only when asked for by name.
if (only.includes('overhead')) {
  const overhead = await runOverheadBench({ quick });
  printOverheadBench(overhead);
  results.overhead = overhead;
}
// Task search and log lookup over 1M tasks / 1M lines (minutes): only when asked for by name.
if (only.includes('search')) {
  const search = await runSearchBench({ quick });
  printSearchBench(search);
  results.search = search;
}
// Open dashboards and event followers vs none, alternating (a few minutes): only when asked for by name.
if (only.includes('dashboard-cost')) {
  const cost = await runDashboardCostBench({ quick });
  printDashboardCostBench(cost);
  results.dashboard_cost = cost;
}
// The log store at scale, `--lines=N` (default 1M; 10M takes tens of minutes): only when asked for by name.
if (only.includes('logs')) {
  const linesArg = process.argv.find((a) => a.startsWith('--lines='));
  const lines = linesArg ? Number(linesArg.slice('--lines='.length).replace(/_/g, '')) : undefined;
  if (lines !== undefined && !(Number.isInteger(lines) && lines > 0)) throw new Error(`--lines must be a positive integer, got ${linesArg}`);
  const logsResult = await runLogsBench({ quick, lines });
  printLogsBench(logsResult);
  results.logs = logsResult;
}
// Fast at scale: streaming (TTFT added, tokens/s at 500 streams) and 1,000 simulated workers (minutes): only when asked for by name.
// `scale streams` / `scale workers` run one half.
if (only.includes('scale')) {
  const parts = only.filter((a) => a === 'streams' || a === 'workers');
  results.scale = await runScaleBench({ quick, only: parts });
}
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${join(outDir, 'latest.json')}`);
process.exit(0);
