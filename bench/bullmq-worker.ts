/**
 * One BullMQ worker process for the side-by-side benchmark (bullmq-bench.ts):
 *   node dist/bench/bullmq-worker.js <redisPort> <queue> <concurrency>
 * Runs a no-op processor (returns the job's data, as taskwire's echo does),
 * prints `ready` on stdout once connected, and closes on SIGTERM.
 */
import { Worker } from 'bullmq';

const [, , portArg, queueName, concurrencyArg] = process.argv;
const port = Number(portArg);
const concurrency = Number(concurrencyArg);
if (!Number.isInteger(port) || port <= 0 || !queueName || !Number.isInteger(concurrency) || concurrency <= 0) {
  console.error('usage: bullmq-worker.js <redisPort> <queue> <concurrency>');
  process.exit(2);
}

const worker = new Worker(queueName, async (job) => job.data as unknown, {
  connection: { host: '127.0.0.1', port },
  concurrency,
  // Finished jobs kept like the bench's taskwire master keeps them (maxFinishedTasks 10,000).
  removeOnComplete: { count: 10_000 },
});
worker.on('error', (err) => console.error(`bullmq worker: ${err.message}`));
await worker.waitUntilReady();
process.stdout.write('ready\n');

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  void worker.close(true).finally(() => process.exit(0));
});
