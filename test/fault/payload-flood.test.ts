/**
 * Hardening: a flood of ~1 MiB submits from several clients without any
 * credential cannot run the master out of memory. Payloads are held by
 * bytes (finished-task cache, unfinished input per caller); what does not
 * fit is refused with 429 before it is stored, and before its body is even
 * read when its Content-Length cannot fit (http/submit-body-guard.ts).
 * Meanwhile another user's small task still runs, and every acknowledged
 * task exists and succeeds.
 *
 * Runs by default for 20 s of flood (then waits for every accepted task);
 * TASKWIRE_FLOOD_SECONDS=60 gives the 60 s, TASKWIRE_FLOOD_CLIENTS
 * more clients (default 4). It prints where the memory went: the master's
 * RSS at start, its peak during the flood and while the accepted tasks are
 * read back, and the V8 heap / large-object space / external peaks from
 * its /metrics.
 *
 * Found by it: under load a dispatch round gave the worker several 1 MiB
 * tasks in one MQTT message over the 4 MiB payload limit, which the worker
 * dropped whole, so those tasks expired after three heartbeat timeouts (the
 * "5 of 490 not succeeded"); assignments are now split by bytes
 * (test/integration/assignment-size.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { faultFixture, printCounts, settleTasks, sleep, spawnWorker, startMasterProcess, workerReady } from './fault-cluster.js';

const MiB = 1024 * 1024;
const CACHE = 64 * MiB;
const UNFINISHED = 32 * MiB; // per caller; all callers together 4x
/** What the master may use besides the payload budgets: V8, modules, sockets, parse buffers. */
const OVERHEAD = 400 * MiB;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const FLOOD_SECONDS = process.env.TASKWIRE_FLOOD_SECONDS ?? '20';

/** The master's own memory figures from /metrics (prom-client's default metrics). */
async function heapOf(httpUrl: string): Promise<{ heap: number; external: number; largeObjects: number } | undefined> {
  try {
    const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const num = (name: string) => Number(new RegExp(`^taskwire_master_${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    return { heap: num('nodejs_heap_size_used_bytes'), external: num('nodejs_external_memory_bytes'), largeObjects: num('nodejs_heap_space_size_used_bytes\\{space="large_object"\\}') };
  } catch {
    return undefined;
  }
}

describe('payload flood (TASKWIRE_FLOOD_SECONDS, default 20)', () => {
  const { group, tmp } = faultFixture('tw-flood-');

  it('keeps the master within its memory budget and answering; nothing acknowledged is lost', async () => {
    const seconds = Number(FLOOD_SECONDS);
    const token = `flood-${process.pid}-token`;
    const master = await startMasterProcess(group, {
      dataDir: tmp.dir,
      clusterToken: token,
      env: { TASKWIRE_CACHE_MAX_BYTES: String(CACHE), TASKWIRE_MAX_UNFINISHED_BYTES: String(UNFINISHED) },
    });
    const worker = spawnWorker(group, { id: 'flood-w1', mqttUrl: master.mqttUrl, dir: tmp.dir, clusterToken: token, capacity: 8 });
    await workerReady(worker);
    const rssAtStart = rssOf(master.proc.pid);
    const text = 'x'.repeat(MiB - 1024);
    const accepted: string[] = [];
    let refused = 0;
    let otherErrors = 0;
    const peak = { flood: 0, settle: 0, heap: 0, external: 0, largeObjects: 0 };
    let phase: 'flood' | 'settle' = 'flood';
    const until = Date.now() + seconds * 1000;
    const sampler = setInterval(() => (peak[phase] = Math.max(peak[phase], rssOf(master.proc.pid))), 200);
    let sampling = true;
    const heapSampler = (async () => {
      while (sampling) {
        const h = await heapOf(master.httpUrl);
        if (h) (peak.heap = Math.max(peak.heap, h.heap), peak.external = Math.max(peak.external, h.external), peak.largeObjects = Math.max(peak.largeObjects, h.largeObjects));
        await sleep(1000);
      }
    })();
    const client = async () => {
      while (Date.now() < until) {
        try {
          const res = await fetch(`${master.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text } }) });
          if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
          else if (res.status === 429) (refused++, await res.arrayBuffer(), await sleep(20));
          else (otherErrors++, await res.arrayBuffer());
        } catch {
          otherErrors++;
        }
      }
    };
    // Another user: small tasks keep being answered during the flood.
    const smallLatencies: number[] = [];
    const small = async () => {
      while (Date.now() < until) {
        const t0 = Date.now();
        const res = await fetch(`${master.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: 'hi' } }) });
        if (res.status === 202) {
          const id = ((await res.json()) as { id: string }).id;
          const done = await settleTasks(master.httpUrl, [id], 30_000);
          if (done.get(id)?.status === 'succeeded') smallLatencies.push(Date.now() - t0);
        } else await res.arrayBuffer();
        await sleep(500);
      }
    };
    const clients = Number(process.env.TASKWIRE_FLOOD_CLIENTS ?? 4);
    await Promise.all([...Array.from({ length: clients }, client), small()]);
    phase = 'settle';
    const settled = await settleTasks(master.httpUrl, accepted, 120_000);
    clearInterval(sampler);
    sampling = false;
    await heapSampler;
    const succeeded = [...settled.values()].filter((t) => t.status === 'succeeded').length;
    const failedOnes = [...settled.values()].filter((t) => t.status !== 'succeeded');
    for (const t of failedOnes.slice(0, 5)) console.log('not succeeded:', JSON.stringify({ id: t.id, status: t.status, attempt: t.attempt, error: t.error, history: t.history }));
    const notSucceeded = failedOnes.map((t) => `${t.status}:${t.error?.code ?? ''}`);
    const peakRss = Math.max(peak.flood, peak.settle);
    const line = printCounts('payload-flood', {
      submitted: accepted.length + refused,
      succeeded,
      lost: accepted.length - settled.size,
      duplicate_results: 0,
      accepted: accepted.length,
      refused_429: refused,
      other_errors: otherErrors,
      peak_rss_mib: Math.round(peakRss / MiB),
      rss_at_start_mib: Math.round(rssAtStart / MiB),
      peak_rss_flood_mib: Math.round(peak.flood / MiB),
      peak_rss_settle_mib: Math.round(peak.settle / MiB),
      peak_heap_used_mib: Math.round(peak.heap / MiB),
      peak_large_objects_mib: Math.round(peak.largeObjects / MiB),
      peak_external_mib: Math.round(peak.external / MiB),
      budget_mib: Math.round((CACHE + 4 * UNFINISHED + OVERHEAD) / MiB),
      small_tasks_answered: smallLatencies.length,
      small_task_max_ms: Math.max(0, ...smallLatencies),
      seconds,
      not_succeeded: [...new Set(notSucceeded)].join(',') || 'none',
    });
    expect(accepted.length, line).toBeGreaterThan(0);
    expect(settled.size, line).toBe(accepted.length);
    expect(succeeded, line).toBe(accepted.length);
    expect(smallLatencies.length, line).toBeGreaterThan(0);
    expect(peakRss, line).toBeLessThan(CACHE + 4 * UNFINISHED + OVERHEAD);
    expect(master.proc.running, line).toBe(true);
  }, (Number(FLOOD_SECONDS) + 200) * 1000);
});
