/**
 * Results to the master that dispatched them. One master: everything goes to
 * the ResultService named by the presence topic (the ResultReporter this
 * class is). Several masters on one broker (multi-master mode): each
 * Assignments message names its master's ResultService (`result_target`);
 * the attempts it carries report there, on a reporter of their own per
 * target, secrets and blobs included.
 */
import type { FetchSecretsRequest } from '../common/gen/taskwire/v1/FetchSecretsRequest.js';
import type { ResultEvent } from '../common/gen/taskwire/v1/ResultEvent.js';
import type { ResultServiceClient } from '../common/gen/taskwire/v1/ResultService.js';
import { ResultReporter, type ResultReporterOptions } from './result-reporter.js';

const key = (taskId: string | undefined, attempt: number | undefined) => `${taskId}#${attempt}`;

export class ResultRoutes extends ResultReporter {
  private readonly targets = new Map<string, ResultReporter>();
  /** task#attempt -> the reporter of its master, until its final is sent. */
  private readonly routes = new Map<string, ResultReporter>();

  constructor(private readonly routeOptions: ResultReporterOptions) {
    super(routeOptions);
  }

  /** The attempt's results go to `target` (host:port). */
  route(taskId: string, attempt: number, target: string): void {
    let r = this.targets.get(target);
    if (!r) {
      r = new ResultReporter(this.routeOptions);
      r.setTarget(target);
      this.targets.set(target, r);
    }
    this.routes.set(key(taskId, attempt), r);
  }

  override send(event: ResultEvent): void {
    const k = key(event.task_id, event.attempt);
    const r = this.routes.get(k);
    if (!r) return super.send(event);
    if (event.final) this.routes.delete(k);
    r.send(event);
  }

  override retract(event: ResultEvent): void {
    const r = this.routes.get(key(event.task_id, event.attempt));
    if (r) r.retract(event);
    else super.retract(event);
  }

  override fetchSecrets(req: FetchSecretsRequest): Promise<Record<string, string>> {
    const r = this.routes.get(key(req.task_id, req.attempt));
    return r ? r.fetchSecrets(req) : super.fetchSecrets(req);
  }

  /** The ResultService client of the attempt's master (blobs). */
  serviceFor(taskId: string, attempt: number): ResultServiceClient | undefined {
    return this.routes.get(key(taskId, attempt))?.service ?? this.service;
  }

  override get unconfirmedCount(): number {
    let n = super.unconfirmedCount;
    for (const r of this.targets.values()) n += r.unconfirmedCount;
    return n;
  }

  override async drain(timeoutMs: number): Promise<void> {
    await Promise.all([super.drain(timeoutMs), ...[...this.targets.values()].map((r) => r.drain(timeoutMs))]);
  }

  override async close(timeoutMs = 2000): Promise<void> {
    await Promise.all([super.close(timeoutMs), ...[...this.targets.values()].map((r) => r.close(timeoutMs))]);
  }
}
