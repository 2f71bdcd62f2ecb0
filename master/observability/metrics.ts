/** Prometheus metrics of the master (prom-client), one registry per master. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class MasterMetrics {
  readonly registry = new Registry();
  readonly submitted = new Counter({ name: 'taskwire_tasks_submitted_total', help: 'Tasks accepted', labelNames: ['kind'], registers: [this.registry] });
  readonly finished = new Counter({
    name: 'taskwire_tasks_finished_total',
    help: 'Tasks that reached a final state',
    labelNames: ['kind', 'status'],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'taskwire_task_queue_wait_seconds',
    help: 'Submit to start of the last attempt',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  readonly runTime = new Histogram({
    name: 'taskwire_task_run_seconds',
    help: 'Worker processing time of the last attempt',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });
  readonly rejectedResults = new Counter({
    name: 'taskwire_results_rejected_total',
    help: 'Result events refused (bad token, superseded attempt, second final, ...)',
    registers: [this.registry],
  });
  readonly invalidMessages = new Counter({
    name: 'taskwire_invalid_messages_total',
    help: 'Malformed inbound messages dropped, by boundary',
    labelNames: ['boundary'],
    registers: [this.registry],
  });
  readonly mqttRefusals = new Counter({
    name: 'taskwire_mqtt_refused_connections_total',
    help: 'Connections the embedded MQTT broker refused, by reason (bad_credentials, packet_too_large, reserved_client_id, client_id_takeover, no_will)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly queued = new Gauge({ name: 'taskwire_tasks_queued', help: 'Tasks waiting for a worker', registers: [this.registry] });
  readonly running = new Gauge({ name: 'taskwire_tasks_running', help: 'Tasks assigned or running', registers: [this.registry] });
  readonly workers = new Gauge({ name: 'taskwire_workers', help: 'Workers by state', labelNames: ['state'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'taskwire_master_' });
    // prom-client's nodejs_active_{handles,requests,resources}_total are gauges named `_total`,
    // which `promtool check metrics` rejects; the same numbers are the sum over `type` of
    // nodejs_active_{handles,requests,resources}, which stay.
    for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`taskwire_master_nodejs_active_${what}_total`);
  }
}
