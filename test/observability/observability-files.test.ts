/**
 * The observability files of the stack, checked without a cluster:
 * `promtool check config`, `promtool check rules`, `promtool test rules` (a
 * firing unit test for every alert), dashboards well-formed and on the
 * provisioned datasource, and stack.yml mounting them where the provisioning
 * files say.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, loadStack, configMounts, secretMounts, env } from '../deploy/stack-model.js';
import {
  DASHBOARD_PROVIDER_FILE,
  DATASOURCES_FILE,
  OBS_DIR,
  PROMETHEUS_CONFIG,
  RULES_FILE,
  RULES_TEST_FILE,
  alertRules,
  alertsWithFiringTests,
  binary,
  dashboards,
  metricNames,
  panelQueries,
} from './observability-files.js';

const promtool = binary('promtool');

describe('promtool', () => {
  it.runIf(!promtool)('cannot run here: promtool is not installed (apt-get install prometheus; CI installs it)', () => {
    console.warn('SKIPPED promtool checks: no `promtool` on PATH (Debian package `prometheus`)');
  });

  it.skipIf(!promtool)('accepts prometheus.yml (check config, which also checks the rule files it loads)', () => {
    const r = spawnSync(promtool!, ['check', 'config', PROMETHEUS_CONFIG], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 1 rule files found/);
  });

  it.skipIf(!promtool)('accepts the alert rules (check rules)', () => {
    const r = spawnSync(promtool!, ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${alertRules().length} rules found`);
  });

  it.skipIf(!promtool)('passes the rule unit tests (test rules)', () => {
    const r = spawnSync(promtool!, ['test', 'rules', RULES_TEST_FILE], { encoding: 'utf8', cwd: OBS_DIR });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});

describe('alert rules', () => {
  it('have a unit test in which each fires, a severity and a pending period', () => {
    const tested = alertsWithFiringTests();
    const rules = alertRules();
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) {
      expect(tested.has(r.alert), `${r.alert}: no promtool test expects it to fire`).toBe(true);
      expect(['critical', 'warning'], `${r.alert}: severity`).toContain(r.labels.severity);
      expect(r.for, `${r.alert}: for`).toBeDefined();
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('are all listed in docs/OBSERVABILITY.md with their pending period', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'OBSERVABILITY.md'), 'utf8');
    for (const r of alertRules()) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${r.alert}\` |`));
      expect(row, `${r.alert} missing from the alert table`).toBeDefined();
      expect(row!.trim().endsWith(`| ${r.for} |`), `${r.alert}: for ${r.for} in the table`).toBe(true);
      expect(row, `${r.alert}: severity`).toContain(`| ${r.labels.severity} |`);
    }
  });
});

const datasources = parse(readFileSync(DATASOURCES_FILE, 'utf8')) as { datasources: { uid: string; type: string; url: string }[] };
const ds = datasources.datasources[0]!;

describe('dashboards', () => {

  it('are the five of the issue, with unique uids and panel ids', () => {
    const all = dashboards();
    expect(all.map((d) => d.file)).toEqual(['cluster-overview.json', 'inference.json', 'llm.json', 'tasks.json', 'workers.json']);
    expect(new Set(all.map((d) => d.dashboard.uid)).size).toBe(all.length);
    for (const { file, dashboard } of all) {
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size, `${file}: duplicate panel ids`).toBe(ids.length);
    }
  });

  it('query the provisioned Prometheus datasource, and every query selects a taskwire metric', () => {
    expect(ds.type).toBe('prometheus');
    for (const { file, dashboard } of dashboards()) {
      for (const p of dashboard.panels) {
        for (const t of p.targets) {
          expect(t.datasource, `${file} / ${p.title}`).toEqual({ type: 'prometheus', uid: ds.uid });
          expect(metricNames(t.expr).length, `${file} / ${p.title}: ${t.expr}`).toBeGreaterThan(0);
        }
      }
    }
    expect(panelQueries().length).toBeGreaterThan(20);
  });

  it('use histogram_quantile only over _bucket series aggregated by le', () => {
    for (const q of panelQueries()) {
      if (!q.expr.includes('histogram_quantile')) continue;
      expect(q.expr, q.where).toMatch(/histogram_quantile\([\d.]+, sum by \([^)]*\ble\b[^)]*\) \(rate\(taskwire_[a-z_]+_(seconds|per_second|rows)_bucket/);
    }
  });
});

describe('stack.yml provisioning', () => {
  const stack = loadStack({});
  const prometheus = stack.services.prometheus;
  const grafana = stack.services.grafana;
  const fileOf = (source: string) => stack.configs?.[source]?.file?.replace(/^\.\//, '');

  it('mounts prometheus.yml and the rules next to each other, and scrapes the master service on its HTTP port', () => {
    expect(prometheus, 'a prometheus service').toBeDefined();
    const mounts = new Map(configMounts(prometheus!).map((m) => [fileOf(m.source), m.target]));
    const configTarget = mounts.get('deploy/observability/prometheus.yml');
    expect(configTarget).toBe('/etc/prometheus/prometheus.yml');
    expect(mounts.get('deploy/observability/taskwire.rules.yml')).toBe('/etc/prometheus/taskwire.rules.yml');
    const cfg = parse(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const job = cfg.scrape_configs.find((j) => j.job_name === 'taskwire-master');
    expect(job?.static_configs[0]?.targets).toEqual([`master:${env(stack.services.master!).TASKWIRE_HTTP_PORT}`]);
  });

  it('lets Prometheus scrape a master that has API keys: /metrics is an open route, or the job sends a key', () => {
    const e = env(stack.services.master!);
    const cfg = parse(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as { scrape_configs: { job_name: string; authorization?: unknown }[] };
    const job = cfg.scrape_configs.find((j) => j.job_name === 'taskwire-master');
    if (e.TASKWIRE_API_KEYS_FILE || e.TASKWIRE_API_KEYS) {
      const open = (e.TASKWIRE_OPEN_ROUTES ?? '').split(/[\s,]+/);
      expect(open.includes('/metrics') || job?.authorization !== undefined, 'the scrape would get 401').toBe(true);
    }
  });

  it('provisions Grafana from the files: datasource at the prometheus service, dashboards where the provider reads them', () => {
    expect(grafana, 'a grafana service').toBeDefined();
    const mounts = new Map(configMounts(grafana!).map((m) => [fileOf(m.source), m.target]));
    expect(mounts.get('deploy/observability/grafana/provisioning/datasources/taskwire.yml')).toBe('/etc/grafana/provisioning/datasources/taskwire.yml');
    expect(mounts.get('deploy/observability/grafana/provisioning/dashboards/taskwire.yml')).toBe('/etc/grafana/provisioning/dashboards/taskwire.yml');
    const provider = parse(readFileSync(DASHBOARD_PROVIDER_FILE, 'utf8')) as { providers: { options: { path: string } }[] };
    const dir = provider.providers[0]!.options.path;
    for (const { file } of dashboards()) expect(mounts.get(`deploy/observability/grafana/dashboards/${file}`), file).toBe(`${dir}/${file}`);
    expect(new URL(ds.url).hostname).toBe('prometheus');
    expect(Number(new URL(ds.url).port)).toBe(9090);
  });

  it('gives Grafana its admin password as a mounted Swarm secret, never a plain value', () => {
    const e = env(grafana!);
    expect(e.GF_SECURITY_ADMIN_PASSWORD).toBeUndefined();
    const file = e.GF_SECURITY_ADMIN_PASSWORD__FILE;
    expect(file).toBe('/run/secrets/grafana_admin_password');
    expect(secretMounts(grafana!).map((m) => m.target)).toContain(file);
  });
});
