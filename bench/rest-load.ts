/**
 * A REST client in its own process (so it does not share the master's CPU):
 *   node dist/bench/rest-load.js <baseUrl> throughput <n> <concurrency>
 *   node dist/bench/rest-load.js <baseUrl> rate <n> <perSecond>
 *   node dist/bench/rest-load.js <baseUrl> batch <n> <concurrency> [tasksPerRequest=100]
 * Prints one JSON line: {sent, errors, ack_ms: [...]} (ack times only for `rate`).
 */
import http from 'node:http';

const [, , base, mode, nArg, kArg, perArg] = process.argv;
const n = Number(nArg);
const k = Number(kArg);
const perRequest = mode === 'batch' ? Number(perArg ?? 100) : 1;
const url = new URL(mode === 'batch' ? '/api/v1/tasks/batch' : '/api/v1/tasks', base);
const agent = new http.Agent({ keepAlive: true, maxSockets: mode === 'rate' ? 64 : k });
const task = (i: number) => ({ kind: 'echo', input: { text: `t${i}` } });
/** Request i carries tasks i*perRequest ... (a batch) or task i. */
const body = (i: number) =>
  JSON.stringify(mode === 'batch' ? { tasks: Array.from({ length: Math.min(perRequest, n - i * perRequest) }, (_, j) => task(i * perRequest + j)) } : task(i));

function post(i: number): Promise<boolean> {
  const b = body(i);
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 202));
      },
    );
    req.on('error', () => resolve(false));
    req.end(b);
  });
}

let errors = 0;
const ack: number[] = [];
if (mode === 'throughput' || mode === 'batch') {
  const requests = Math.ceil(n / perRequest);
  let next = 0;
  await Promise.all(
    Array.from({ length: k }, async () => {
      while (next < requests) {
        const i = next++;
        if (!(await post(i))) errors++;
      }
    }),
  );
} else {
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / k - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const s = performance.now();
    pending.push(post(i).then((ok) => (ok ? void ack.push(performance.now() - s) : void errors++)));
  }
  await Promise.all(pending);
}
process.stdout.write(`${JSON.stringify({ sent: n, errors, ack_ms: ack })}\n`);
agent.destroy();
