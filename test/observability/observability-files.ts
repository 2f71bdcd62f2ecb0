/**
 * The observability files of the stack (deploy/observability/) as data for the
 * tests: dashboard panels and their PromQL, alert rules, the metric names they
 * use, and where promtool/prometheus are.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { REPO_ROOT } from '../deploy/stack-model.js';

export const OBS_DIR = join(REPO_ROOT, 'deploy', 'observability');
export const PROMETHEUS_CONFIG = join(OBS_DIR, 'prometheus.yml');
export const RULES_FILE = join(OBS_DIR, 'taskwire.rules.yml');
export const RULES_TEST_FILE = join(OBS_DIR, 'taskwire.rules.test.yml');
export const DASHBOARDS_DIR = join(OBS_DIR, 'grafana', 'dashboards');
export const DATASOURCES_FILE = join(OBS_DIR, 'grafana', 'provisioning', 'datasources', 'taskwire.yml');
export const DASHBOARD_PROVIDER_FILE = join(OBS_DIR, 'grafana', 'provisioning', 'dashboards', 'taskwire.yml');

/** A binary on PATH (promtool, prometheus), or undefined. */
export function binary(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const target = z.object({ expr: z.string().min(1), refId: z.string(), datasource: z.object({ type: z.string(), uid: z.string() }) });
const panelSchema = z.looseObject({ id: z.number(), title: z.string().min(1), type: z.string(), targets: z.array(target).min(1) });
const variableSchema = z.looseObject({ name: z.string(), type: z.string(), query: z.union([z.string(), z.object({ query: z.string() }).loose()]).optional() });
export const dashboardSchema = z.looseObject({
  uid: z.string().min(1),
  title: z.string().min(1),
  panels: z.array(panelSchema).min(1),
  templating: z.object({ list: z.array(variableSchema) }),
});
export type Dashboard = z.infer<typeof dashboardSchema>;

export interface DashboardFile {
  file: string;
  dashboard: Dashboard;
}

export function dashboards(): DashboardFile[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: dashboardSchema.parse(JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'))) }));
}

export interface PanelQuery {
  where: string;
  expr: string;
}

export function panelQueries(): PanelQuery[] {
  return dashboards().flatMap(({ file, dashboard }) =>
    dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `${file} / ${p.title} / ${t.refId}`, expr: t.expr }))),
  );
}

/** Queries of the dashboards' template variables (Grafana's label_values(metric, label)). */
export function variableQueries(): PanelQuery[] {
  return dashboards().flatMap(({ file, dashboard }) =>
    dashboard.templating.list.map((v) => ({ where: `${file} / $${v.name}`, expr: typeof v.query === 'string' ? v.query : (v.query?.query ?? '') })),
  );
}

const ruleSchema = z.object({
  groups: z.array(z.object({ name: z.string(), rules: z.array(z.looseObject({ alert: z.string(), expr: z.string(), for: z.string().optional(), labels: z.record(z.string(), z.string()) })) })),
});

export function alertRules(): { alert: string; expr: string; for?: string; labels: Record<string, string> }[] {
  return ruleSchema.parse(parse(readFileSync(RULES_FILE, 'utf8'))).groups.flatMap((g) => g.rules);
}

/** Alert names the promtool unit tests expect to fire at least once. */
export function alertsWithFiringTests(): Set<string> {
  const doc = z
    .object({ tests: z.array(z.object({ alert_rule_test: z.array(z.object({ alertname: z.string(), exp_alerts: z.array(z.unknown()).nullish() })) })) })
    .parse(parse(readFileSync(RULES_TEST_FILE, 'utf8')));
  return new Set(doc.tests.flatMap((t) => t.alert_rule_test.filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname)));
}

/** Series Prometheus makes up itself (not in any /metrics output). */
export const SYNTHETIC = new Set(['up']);

/** Metric names a PromQL expression selects: ours all start with taskwire_, plus `up`. */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/(?<![\w"-])(taskwire_[a-z0-9_]+|up)(?=\s*[{[)]|\s*$|\s*[<>=!,])/g)].map((m) => m[1]!))];
}

/** Grafana macros and variables replaced by what Grafana would send for a 5-minute view. */
export function grafanaToPromql(expr: string, rateInterval = '30s'): string {
  return expr.replaceAll('$__rate_interval', rateInterval).replaceAll('$__range', '5m').replaceAll('$kind', '.*');
}

/** Sample names and metric families of a Prometheus text exposition. */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const family = /^# TYPE (\S+) (\w+)/.exec(line);
    if (family) {
      names.add(family[1]!);
      if (family[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(family[1]! + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}
