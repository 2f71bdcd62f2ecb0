/**
 * The worker's ResultReporter against a real gRPC ResultService: finals on a
 * stream that fails are re-sent with SubmitResult, whole (identifiers, token,
 * outcome, output), until the service answers; a STARTED retracted before the
 * flush never goes out.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { grpcPackageDefinition } from '../../common/proto-root.js';
import { silentLogger } from '../../common/logger.js';
import { ResultReporter } from '../../worker/result-reporter.js';
import type { ProtoGrpcType } from '../../common/gen/result_service.js';
import type { ResultEvent } from '../../common/gen/taskwire/v1/ResultEvent.js';
import { waitFor } from '../helpers/cluster.js';

type Recorded = { streamed: ResultEvent[]; submitted: Record<string, unknown>[] };

async function fakeService(opts: { failStreams: boolean; failFirstSubmits: number }): Promise<{ port: number; seen: Recorded; close(): Promise<void> }> {
  const proto = grpc.loadPackageDefinition(grpcPackageDefinition()) as unknown as ProtoGrpcType;
  const seen: Recorded = { streamed: [], submitted: [] };
  let submits = 0;
  const server = new grpc.Server();
  server.addService(proto.taskwire.v1.ResultService.service, {
    StreamResults(call: grpc.ServerReadableStream<{ events: ResultEvent[] }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      call.on('data', (b: { events: ResultEvent[] }) => {
        seen.streamed.push(...b.events);
        if (opts.failStreams) callback({ code: grpc.status.UNAVAILABLE, details: 'master going away' });
      });
      call.on('end', () => callback(null, { accepted: seen.streamed.length, rejected: 0 }));
    },
    SubmitResult(call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) {
      if (submits++ < opts.failFirstSubmits) {
        callback({ code: grpc.status.UNAVAILABLE, details: 'not yet' });
        return;
      }
      seen.submitted.push(call.request);
      callback(null, { disposition: 'DISPOSITION_ACCEPTED', reason: '' });
    },
    FetchSecrets(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
      callback(null, { secrets: {} });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, seen, close: () => new Promise((r) => server.tryShutdown(() => r())) };
}

const final = (task: string, text: string): ResultEvent => ({
  task_id: task,
  attempt: 2,
  worker_id: 'w-rep',
  result_token: `tok-${task}`,
  seq: 3,
  event: 'final',
  final: { outcome: 'TASK_OUTCOME_SUCCEEDED', output: { stringValue: text }, started_at_ms: 5, finished_at_ms: 9, last_seq: 2 },
});

describe('ResultReporter (worker) against a real gRPC service', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** A fake service and a reporter pointed at it, both closed after the test. */
  async function setup(opts: { failStreams: boolean; failFirstSubmits: number }) {
    const svc = await fakeService(opts);
    cleanup.push(svc.close);
    const reporter = new ResultReporter({ log: silentLogger() });
    cleanup.push(() => reporter.close(100));
    reporter.setTarget(`127.0.0.1:${svc.port}`);
    return { svc, reporter };
  }

  it('re-sends the finals of a failed stream with SubmitResult, whole, retrying until answered', async () => {
    const { svc, reporter } = await setup({ failStreams: true, failFirstSubmits: 2 });
    reporter.send(final('a', 'alpha'));
    reporter.send(final('b', 'beta'));
    await waitFor(() => svc.seen.submitted.length === 2 && reporter.unconfirmedCount === 0, 'both finals re-sent and confirmed', 10_000);
    const byTask = Object.fromEntries(svc.seen.submitted.map((r) => [r.task_id as string, r]));
    expect(byTask.a).toMatchObject({ task_id: 'a', attempt: 2, worker_id: 'w-rep', result_token: 'tok-a', outcome: 'TASK_OUTCOME_SUCCEEDED', output: { stringValue: 'alpha' }, last_seq: 2 });
    expect(byTask.b).toMatchObject({ result_token: 'tok-b', output: { stringValue: 'beta' } });
    expect(reporter.stats.resentFinals).toBe(2);
  });

  it('a retracted STARTED is not sent; the final is, and is confirmed when the stream ends', async () => {
    const { svc, reporter } = await setup({ failStreams: false, failFirstSubmits: 0 });
    const started: ResultEvent = { task_id: 'c', attempt: 1, worker_id: 'w-rep', result_token: 'tok-c', seq: 1, event: 'started', started: { started_at_ms: 1 } };
    reporter.send(started);
    reporter.retract(started);
    reporter.send({ ...final('c', 'gamma'), attempt: 1 });
    await reporter.drain(5000);
    expect(svc.seen.streamed.map((e) => [e.task_id, e.event])).toEqual([['c', 'final']]);
    expect(reporter.unconfirmedCount).toBe(0);
    expect(svc.seen.submitted).toEqual([]);
  });
});
