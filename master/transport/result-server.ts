/**
 * gRPC server: taskwire.v1.ResultService (results from workers) and
 * grpc.health.v1.Health. Every event is checked by TaskService (token,
 * attempt fencing, exactly-one final); malformed calls get INVALID_ARGUMENT.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../../common/logger.js';
import { grpcPackageDefinition } from '../../common/proto-root.js';
import type { ProtoGrpcType } from '../../common/gen/result_service.js';
import type { ResultServiceHandlers } from '../../common/gen/taskwire/v1/ResultService.js';
import type { ResultIntake } from '../core/result-intake.js';
import { type blobHandlers } from './blob-service.js';

export const MAX_EVENTS_PER_BATCH = 10_000;
const SERVICE = 'taskwire.v1.ResultService';

export interface ResultServerOptions {
  host: string;
  port: number;
  tasks: ResultIntake;
  log: Logger;
  /** Called for each malformed call or event (metrics). */
  onInvalid?: (reason: string) => void;
  /** FetchBlob / PutBlob (blob-service.ts); UNIMPLEMENTED without. */
  blobs?: ReturnType<typeof blobHandlers>;
}

const unimplemented = { code: grpc.status.UNIMPLEMENTED, details: 'this master has no blob store' } as grpc.ServiceError;
const NO_BLOBS: Pick<ResultServiceHandlers, 'FetchBlob' | 'PutBlob'> = {
  FetchBlob: (call) => void call.emit('error', unimplemented),
  PutBlob: (_call, callback) => callback(unimplemented, null),
};

function invalid(callback: grpc.sendUnaryData<never>, message: string): void {
  callback({ code: grpc.status.INVALID_ARGUMENT, details: message } as grpc.ServiceError, null);
}

export class ResultServer {
  private closed = false;
  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
    private readonly health: HealthImplementation,
  ) {}

  static async create(options: ResultServerOptions): Promise<ResultServer> {
    const { tasks, log } = options;
    const proto = grpc.loadPackageDefinition(grpcPackageDefinition()) as unknown as ProtoGrpcType;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    });
    const onInvalid = (reason: string) => {
      options.onInvalid?.(reason);
      log.warn({ reason }, 'invalid gRPC input');
    };
    const handlers: ResultServiceHandlers = {
      SubmitResult(call, callback) {
        const r = call.request;
        if (!r.task_id || !r.worker_id || !r.result_token || !r.attempt) {
          onInvalid('SubmitResult without task_id, worker_id, attempt or result_token');
          invalid(callback as never, 'task_id, attempt, worker_id and result_token are required');
          return;
        }
        try {
          callback(null, tasks.handleFinal(r));
        } catch (err) {
          log.error({ err: (err as Error).stack, task_id: r.task_id }, 'final result handling failed');
          callback({ code: grpc.status.INTERNAL, details: 'internal error' } as grpc.ServiceError, null);
        }
      },
      StreamResults(call, callback) {
        let accepted = 0;
        let rejected = 0;
        let failed = false;
        call.on('data', (batch: { events: Parameters<ResultIntake['handleEvent']>[0][] }) => {
          if (failed) return;
          if (batch.events.length > MAX_EVENTS_PER_BATCH) {
            failed = true;
            onInvalid(`batch of ${batch.events.length} events`);
            invalid(callback as never, `at most ${MAX_EVENTS_PER_BATCH} events per batch`);
            return;
          }
          for (const ev of batch.events) {
            if (!ev.task_id || !ev.worker_id || !ev.result_token || !ev.attempt) {
              rejected++;
              onInvalid('result event without task_id, worker_id, attempt or result_token');
              continue;
            }
            try {
              const out = tasks.handleEvent(ev);
              if (out.disposition === 'DISPOSITION_REJECTED') rejected++;
              else accepted++;
            } catch (err) {
              // A bug in one event must not take the master down with every task in flight.
              rejected++;
              onInvalid(`result event failed: ${(err as Error).message}`);
              log.error({ err: (err as Error).stack, task_id: ev.task_id }, 'result event handling failed');
            }
          }
        });
        call.on('end', () => {
          if (!failed) callback(null, { accepted, rejected });
        });
        call.on('error', () => undefined);
      },
      FetchSecrets(call, callback) {
        const r = call.request;
        const out = tasks.secretsFor(r);
        if ('disposition' in out) {
          callback({ code: grpc.status.PERMISSION_DENIED, details: out.reason } as grpc.ServiceError, null);
          return;
        }
        callback(null, { secrets: out });
      },
      ...(options.blobs ?? NO_BLOBS),
    };
    // Count undecodable requests too (grpc-js answers them with INTERNAL before any handler runs).
    const service = Object.fromEntries(
      Object.entries(proto.taskwire.v1.ResultService.service).map(([name, def]) => [
        name,
        {
          ...def,
          requestDeserialize: (buf: Buffer) => {
            try {
              return def.requestDeserialize(buf);
            } catch (err) {
              onInvalid(`${name}: undecodable request (${(err as Error).message})`);
              throw err;
            }
          },
        },
      ]),
    ) as typeof proto.taskwire.v1.ResultService.service;
    server.addService(service, handlers);
    const health = new HealthImplementation({ '': 'SERVING', [SERVICE]: 'SERVING' });
    health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      );
    });
    return new ResultServer(server, port, health);
  }

  /** Graceful shutdown with a deadline, then force. Idempotent. */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.health.setStatus('', 'NOT_SERVING');
    this.health.setStatus(SERVICE, 'NOT_SERVING');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
