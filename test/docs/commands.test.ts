/**
 * Every shell command in README.md and docs/*.md either runs here, against a
 * real `taskwire start` (master + one local worker) on free ports, and gives
 * what the docs promise, or is skipped by a rule below that says why it
 * cannot run on this machine. A command no rule knows fails the test, so a
 * new example gets a decision and an old one cannot silently break.
 *
 * Commands run as written, with only these rewrites (through what the
 * commands already honour): `npx taskwire` / `taskwire` -> `node dist/cli/taskwire.js`,
 * `localhost:8080` -> the test master's HTTP address, mosquitto_sub gets `-p <port> -W 3`,
 * `<id>` / `<token>` / `<master-host>[:<mqtt-port>]` are filled in. The shell
 * gets TASKWIRE_HTTP_PORT (how the CLI finds this master), TASKWIRE_DATA_DIR
 * (where `taskwire token` reads) and TASKWIRE_WORKER_KINDS=echo,sleep (so a
 * worker does not load the OCR models; the master's local worker also serves
 * `infer`, the example model in models/linear). The commands of one file run in one
 * shell, in order, so `ID=$(...)` carries over to the next line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup, REPO_ROOT, TASKWIRE_CLI, waitForHttp } from '../helpers/processes.js';
import { type DocCommand, allDocCommands } from './doc-commands.js';
import { freePort } from '../helpers/ports.js';

interface Rule {
  match: RegExp;
  /** Why it cannot run here (a skip), or undefined: it runs. */
  skip?: string;
  /** What its output must contain when it runs. */
  expect?: RegExp;
  /** Exit codes accepted (default [0]). */
  codes?: number[];
}

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const MOSQUITTO_SUB = has('mosquitto_sub');

/** First match wins. */
const RULES: Rule[] = [
  // --- runs here -----------------------------------------------------------------------------
  { match: /^mosquitto_sub -v (-h 127\.0\.0\.1 )?-t 'taskwire\/v1\/#'$/, expect: /taskwire\/v1\/master\/status \{/, codes: [0, 27], ...(!MOSQUITTO_SUB && !process.env.CI && { skip: 'mosquitto_sub is not installed (Debian mosquitto-clients)' }) },
  { match: /^npx taskwire submit echo --text "hello taskwire"$/, expect: /succeeded[\s\S]*hello taskwire/ },
  { match: /^npx taskwire submit sleep '\{"ms": 2000\}'$/, expect: /sleep {2}succeeded/ },
  { match: /^printf .* \| npx taskwire submit-batch -$/, expect: /^\S+ {2}echo {2}(queued|assigned|running|succeeded)\n\S+ {2}echo {2}(queued|assigned|running|succeeded)$/ },
  { match: /^npx taskwire workers$/, expect: /-local-1\s+online\s+typescript/ },
  { match: /^ID=\$\(npx taskwire submit sleep '\{"ms": 60000\}' --no-wait\)$/ },
  { match: /^npx taskwire cancel "\$ID" -o json$/, expect: /"status": "(cancelled|queued|assigned|running)"/ },
  { match: /^curl -s -XPOST localhost:8080\/api\/v1\/tasks /, expect: /"id":"[^"]+".*"kind":"echo"/ },
  { match: /^curl -s localhost:8080\/api\/v1\/tasks\/<id>$/, expect: /"status":"(queued|assigned|running|succeeded)"/ },
  { match: /^curl -s localhost:8080\/api\/v1\/workers$/, expect: /"workers":\[\{/ },
  { match: /^curl -s localhost:8080\/metrics$/, expect: /^taskwire_tasks_submitted_total\{kind="echo"\} \d+/m },
  { match: /^npx taskwire token$/, expect: /^[A-Za-z0-9_-]{20,}$/ },
  {
    match: /^TASKWIRE_CLUSTER_TOKEN=<token> npx taskwire worker --master <master-host>\[:<mqtt-port>\]$/,
    expect: /"msg":"worker online"/,
  },
  { match: /^curl -N /, codes: [28] }, // a stream: cut after 3 s (curl's exit 28); it must answer, not fail
  { match: /^curl '[^']*\/api\/v1\/events\?follow=false/, expect: /"events":\[[\s\S]*"last_id"/ },
  { match: /^taskwire events --follow /, codes: [0, 124, 130, 143] },
  { match: /^taskwire events --task <task-id>$/ },
  { match: /^taskwire cluster status$/, expect: /^master_id\s+/m },
  { match: /^taskwire workers list -o json$/, expect: /"heartbeat_age_ms"/ },
  { match: /^taskwire tasks list --status succeeded -o jsonl$/ },
  { match: /^taskwire tasks list --filter status=failed,kind=echo$/, expect: /^ID\s+KIND\s+STATUS/m },
  { match: /^taskwire tasks show <task-id>$/, expect: /^status\s+/m },
  { match: /^taskwire tasks result <task-id> --wait 10000$/, expect: /"text": "x"/ },
  // Search, export, logs, OpenAPI, monitor (docs/OPERATIONS.md).
  { match: /^curl -s 'localhost:8080\/api\/v1\/tasks\?/, expect: /^\{"tasks":\[/ },
  { match: /^curl -s 'localhost:8080\/api\/v1\/tasks\/export\?[^']*format=csv'$/, expect: /^id,kind,model,status,priority,attempt,worker_id,created_at/ },
  { match: /^curl -s 'localhost:8080\/api\/v1\/logs\?/, expect: /^\{"logs":\[/ },
  { match: /^curl -s localhost:8080\/api\/v1\/openapi\.json$/, expect: /"openapi":"3\.1\.0"/ },
  { match: /^taskwire logs --follow /, codes: [0, 124, 130, 143] },
  { match: /^taskwire logs /, expect: /^\S+Z\s+INFO\s+\S+\s/m }, // the newest info lines: the master's or a worker's (task start and end)
  { match: /^taskwire monitor --once$/, expect: /tasks done \d+/ },
  // The example model shipped in models/linear (the local worker serves infer from ./models).
  { match: /^curl -s localhost:8080\/v2\/models\/linear$/, expect: /"name":"linear".*"inputs":\[\{"name":"X","datatype":"FP32","shape":\[-1,4\]\}\]/ },
  { match: /^curl -s localhost:8080\/v2\/models\/linear\/ready$/, expect: /^\{"name":"linear",("version":"1",)?"ready":true\}$/ },
  { match: /^curl -s localhost:8080\/v2\/health\/(live|ready)$/, expect: /^\{"(live|ready)":true\}$/ },
  { match: /^curl -s -XPOST localhost:8080\/v2\/models\/linear\/infer /, expect: /"outputs":\[\{"name":"Y","datatype":"FP32","shape":\[(1,2\],"data":\[10,5|2,2\],"data":\[10,5,1,0\.5)\]\}\]/ },
  { match: /^taskwire placement set sleep least-connections$/, expect: /^placement sleep: (null|"[a-z-]+") -> "least-connections"$/m },
  { match: /^taskwire placement slow-start \d+$/, expect: /^slow start: \d+ -> \d+$/m },
  { match: /^taskwire placement show$/, expect: /^SCOPE\s+STRATEGY[\s\S]*slow start: \d+ ms/m },
  { match: /^taskwire placement unset sleep$/, expect: /^placement sleep: .* -> null$/m },
  { match: /^taskwire autoscale set sleep /, expect: /^autoscale sleep: .*"max_workers":3/m },
  { match: /^taskwire autoscale show$/, expect: /^POOL\s+ACTUATOR/m },
  { match: /^taskwire autoscale unset sleep$/, expect: /^autoscale sleep: removed$/m },
  { match: /^taskwire images process --help$/, expect: /--resize <wxh>[\s\S]*--chain <json>/ },
  { match: /^taskwire images batches --help$/, expect: /--status <status>[\s\S]*--json/ },
  // --- cannot run here, and why ----------------------------------------------------------------
  { match: /^taskwire images process \S/, skip: "needs a worker serving image and the example files (this test's worker serves echo,sleep; test/integration/images-cli.test.ts runs it)" },
  { match: /^npm test$/, skip: 'the test suite itself' },
  { match: /^npm install && npm start$/, skip: 'installs, builds and starts on the default ports; this test runs the same `taskwire start` on free ports' },
  { match: /^npx vitest run /, skip: 'a part of the test suite (npm test runs it)' },
  { match: /^(TASKWIRE_FLOOD_[A-Z]+=\d+ )+npx vitest run test\/fault\/payload-flood\.test\.ts$/, skip: 'a longer run of a test of the suite (npm test runs it for 20 s)' },
  { match: /^taskwire store migrate --blobs-only --from \S+ --to postgres:\/\//, skip: 'needs a PostgreSQL server a master ran on, that master stopped (test/store/store-migrate-blobs.test.ts runs it against a real PostgreSQL)' },
  { match: /^taskwire store migrate --from \S+ --to postgres:\/\//, skip: 'needs a PostgreSQL server and a stopped SQLite master (test/store/store-migrate.test.ts runs it against a real PostgreSQL)' },
  { match: /^TASKWIRE_MASTER_REPLICAS=0 docker stack deploy /, skip: 'needs Docker Swarm (test/deploy/stack-postgres.test.ts validates the merged stack with docker stack config)' },
  { match: /^curl .*\/v2\/models\/ppocr$/, skip: 'needs a worker with the PP-OCR models loaded (test/e2e-inference covers /v2/models/ppocr)' },
  { match: /^(docker |scripts\/|TASKWIRE_WORKER_REPLICAS=\S+ scripts\/|P="\$\(cat deploy\/secrets)/, skip: 'needs Docker Swarm (test/deploy rehearses the scripts against a fake docker)' },
  { match: /^mosquitto_sub -h <node> -p 1884 /, skip: "the Swarm stack's observer port on a cluster node" },
  { match: /^(GEMINI_API_KEY|OPENAI_BASE_URL|OPENAI_API_KEY)=\S+ .*taskwire worker$/, skip: 'needs an LLM provider (an API key or a model server)' },
  { match: /^taskwire worker$/, skip: 'an llm worker needs a provider or a local Ollama (test/e2e-llm runs one against a local provider)' },
  { match: /gateway-bench/, skip: 'a benchmark (minutes of CPU); npm run bench' },
  { match: /^(TASKWIRE_BENCH_[A-Z_]+=\S+ )+(\\\s+)?node --expose-gc dist\/bench\/bench\.js /, skip: 'a benchmark (minutes of CPU, a PostgreSQL of its own); npm run bench' },
  { match: /^taskwire start --autoscale /, skip: 'starts another master on the default ports (test/autoscaling/local-autoscale.e2e.test.ts runs it on free ports)' },
  { match: /^TASKWIRE_PLACEMENT=\S+ taskwire master$/, skip: 'starts another master on the default ports (test/integration/placement.test.ts covers the strategies)' },
  { match: /^mosquitto_pub .*\/control /, skip: "publishing control commands needs the master's MQTT credentials (anonymous clients are read-only)" },
];

function ruleFor(c: DocCommand): Rule | undefined {
  return RULES.find((r) => r.match.test(c.text));
}

const commands = allDocCommands(REPO_ROOT);
const group = new ProcessGroup();
let dir: string;
let http: number;
let mqtt: number;

function rewrite(text: string): string {
  const cli = `'${process.execPath}' '${TASKWIRE_CLI}'`;
  let t = text
    .replace(/(^|[|;&]\s*|\$\(|=\S+ )npx taskwire /g, `$1${cli} `)
    .replace(/^taskwire /, `${cli} `)
    .replace(/(localhost|127\.0\.0\.1):8080/g, `127.0.0.1:${http}`)
    .replace(/^curl -N /, 'curl -sS --max-time 3 -N ')
    .replace(/<task-id>/g, `$(${cli} submit echo --text x --no-wait)`)
    // This master serves no image kind: a batch id no batch has (its stream answers and stays empty).
    .replace(/<batch-id>/g, 'batch-00000000-0000-4000-8000-000000000000')
    .replace(/<id>/g, `$(${cli} submit sleep '{"ms": 30000}' --no-wait)`)
    .replace(/<token>/g, `$(${cli} token)`)
    .replace(/<master-host>\[:<mqtt-port>\]/g, `127.0.0.1:${mqtt}`);
  if (/^mosquitto_sub /.test(t)) t = `${t.replace(/^mosquitto_sub /, `mosquitto_sub -p ${mqtt} -W 3 `)}`;
  // A long-running worker: run it for a while, then SIGINT (a graceful stop exits 0).
  if (/ events --follow /.test(t)) t = t.replace(`${cli} events`, `timeout -s INT 3 ${cli} events`);
  if (/ logs --follow /.test(t)) t = t.replace(`${cli} logs`, `timeout -s INT 3 ${cli} logs`);
  if (/ worker --master /.test(t)) t = t.replace(`${cli} worker`, `timeout --preserve-status -s INT 12 ${cli} worker`);
  return t;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'taskwire-docs-'));
  [http, mqtt] = [await freePort(), await freePort()];
  const grpc = await freePort();
  const master = group.taskwire('start', ['start'], {
    env: {
      TASKWIRE_BIND_HOST: '127.0.0.1',
      TASKWIRE_HTTP_PORT: String(http),
      TASKWIRE_MQTT_PORT: String(mqtt),
      TASKWIRE_GRPC_PORT: String(grpc),
      TASKWIRE_LOCAL_WORKERS: '1',
      TASKWIRE_WORKER_KINDS: 'echo,sleep,infer',
      TASKWIRE_DATA_DIR: join(dir, 'data'),
    },
  });
  await waitForHttp(`http://127.0.0.1:${http}/healthz`, { process: master, timeoutMs: 30_000 });
  // The local worker is online when `workers` lists it.
  for (let i = 0; i < 200; i++) {
    const body = (await (await fetch(`http://127.0.0.1:${http}/api/v1/workers`)).json()) as { workers: { state: string }[] };
    if (body.workers.some((w) => w.state === 'online')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // ... and the example model (models/linear) is loaded.
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`http://127.0.0.1:${http}/v2/models/linear/ready`)).status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await group.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('the commands in README.md and docs/*.md', () => {
  it('are each either run here or skipped by a rule that says why', () => {
    const unknown = commands.filter((c) => !ruleFor(c)).map((c) => `${c.file}:${c.line}: ${c.text}`);
    expect(unknown, 'add a rule to test/docs/commands.test.ts: run it (with what its output must show) or skip it with the reason').toEqual([]);
    expect(commands.filter((c) => ruleFor(c) && !ruleFor(c)!.skip).length).toBeGreaterThanOrEqual(10);
  });

  const byFile = new Map<string, DocCommand[]>();
  for (const c of commands) {
    const r = ruleFor(c);
    if (r && !r.skip) byFile.set(c.file, [...(byFile.get(c.file) ?? []), c]);
  }
  for (const c of commands) {
    const r = ruleFor(c);
    if (r?.skip) it.skip(`${c.file}:${c.line} ${c.text.slice(0, 80)} (${r.skip})`, () => undefined);
  }

  for (const [file, list] of byFile) {
    it(`${file}: ${list.length} commands run and show what the docs say`, () => {
      const marker = '@@taskwire-docs-rc';
      const script = list.map((c) => `{ ${rewrite(c.text)}\n} 2>&1\nprintf '\\n%s %s\\n' ${marker} $?`).join('\n');
      const r = spawnSync('bash', ['-c', script], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TASKWIRE_HTTP_PORT: String(http),
          TASKWIRE_DATA_DIR: join(dir, 'data'),
          TASKWIRE_WORKER_KINDS: 'echo,sleep',
          TASKWIRE_SHUTDOWN_GRACE_MS: '200',
        },
      });
      // Each command's stdout and stderr together, split at the markers.
      const out = (r.stdout ?? '').split(new RegExp(`^${marker} (\\d+)$`, 'm'));
      const failures: string[] = [];
      list.forEach((c, i) => {
        const output = (out[i * 2] ?? '').trim();
        const code = Number(out[i * 2 + 1]);
        const rule = ruleFor(c)!;
        const where = `${c.file}:${c.line}: ${c.text}\n  exit ${code}\n  ${output.slice(0, 600).replace(/\n/g, '\n  ')}`;
        if (!(rule.codes ?? [0]).includes(code)) failures.push(`exit code: ${where}`);
        else if (rule.expect && !rule.expect.test(output)) failures.push(`output does not match ${rule.expect}: ${where}`);
      });
      expect(failures, `stderr:\n${r.stderr}`).toEqual([]);
    }, 180_000);
  }
});
