/**
 * System routes: `GET /healthz` (liveness and readiness in one: 200 when the
 * master runs and its MQTT link is up, 503 otherwise) and `GET /metrics`
 * (Prometheus text). Which of them answer without an API key is decided by
 * the open-route list (auth/open-routes.ts), not here.
 */
import { Router } from 'express';
import type { Registry } from 'prom-client';

export interface SystemRoutesDeps {
  /** The master's lifecycle state and whether the MQTT link is up. */
  state(): { state: string; mqttConnected: boolean };
  workersOnline(): number;
  version: string;
  protocol: string;
  metrics: Registry;
  /** Called before a scrape (refreshes sampled gauges). */
  beforeScrape?(): void;
}

export function systemRoutes(deps: SystemRoutesDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    const { state, mqttConnected } = deps.state();
    const ok = state === 'running' && mqttConnected;
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ok' : 'unavailable',
      state,
      mqtt: mqttConnected ? 'connected' : 'disconnected',
      workers_online: deps.workersOnline(),
      version: deps.version,
      protocol: deps.protocol,
    });
  });
  r.get('/metrics', async (_req, res) => {
    deps.beforeScrape?.();
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
  return r;
}
