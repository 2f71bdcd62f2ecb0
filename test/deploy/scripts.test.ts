/**
 * The Docker paths of the operator scripts, against a stand-in `docker` that
 * records its calls (no daemon here): deploy.sh creates exactly the secrets
 * stack.yml names, idempotently; scale.sh, stop.sh and the missing-swarm
 * errors do what their --help says.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDocker } from './fake-docker.js';
import { REPO_ROOT, loadStack } from './stack-model.js';

const script = (name: string) => join(REPO_ROOT, 'scripts', `${name}.sh`);

describe('operator scripts against a stand-in docker', () => {
  let dir = '';
  let docker: FakeDocker;
  let secretsDir = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-scripts-'));
    docker = new FakeDocker(join(dir, 'docker'));
    secretsDir = join(dir, 'secrets');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(name: string, args: string[], extra: Record<string, string> = {}) {
    return spawnSync('bash', [script(name), ...args], {
      encoding: 'utf8',
      env: docker.env({ TASKWIRE_SECRETS_DIR: secretsDir, ...extra }),
      timeout: 60_000,
    });
  }

  it('deploy.sh creates the secrets stack.yml names, labels the master node and deploys the stack', () => {
    docker.setState({ swarm: 'active', manager: true, services: ['taskwire_master 1/1', 'taskwire_worker 2/2'], stacks: [] });
    const r = run('deploy', ['--tag', 'abc123', '--timeout', '5']);
    expect(r.status, r.stderr).toBe(0);

    const [deploy, ...more] = docker.find('stack', 'deploy');
    expect(more).toEqual([]);
    expect(deploy!.args).toEqual(expect.arrayContaining(['-c', join(REPO_ROOT, 'stack.yml'), 'taskwire', '--with-registry-auth']));
    expect(deploy!.env.TASKWIRE_TAG).toBe('abc123');
    expect(deploy!.env.TASKWIRE_SECRETS_VERSION).toMatch(/^[0-9a-f]{12}$/);
    expect(deploy!.env.TASKWIRE_CONFIG_VERSION).toMatch(/^[0-9a-f]{12}$/);

    // The names deploy.sh created are the names the stack resolves with its environment.
    const stack = loadStack(deploy!.env);
    const wanted = Object.values(stack.secrets ?? {}).map((s) => s.name).sort();
    const created = docker.find('secret', 'create').map((c) => c.args[c.args.length - 2]).sort();
    expect(created).toEqual(wanted);
    for (const s of Object.values(stack.services)) {
      if (/\/taskwire:/.test(s.image)) expect(s.image).toBe('127.0.0.1:5000/taskwire:abc123');
    }
    expect(docker.find('node', 'update')[0]?.args).toEqual(['node', 'update', '--label-add', 'taskwire.master=true', 'fakenode1']);
  });

  it('deploy.sh --postgres creates the PostgreSQL password secret, checks the merged stack with docker stack config and deploys stack.yml + stack.postgres.yml', () => {
    docker.setState({ swarm: 'active', manager: true, services: ['taskwire_master 1/1', 'taskwire_postgres 1/1', 'taskwire_worker 2/2'], stacks: [] });
    const r = run('deploy', ['--tag', 'abc123', '--timeout', '5', '--postgres']);
    expect(r.status, r.stderr).toBe(0);
    const files = ['-c', join(REPO_ROOT, 'stack.yml'), '-c', join(REPO_ROOT, 'stack.postgres.yml')];
    const [config] = docker.find('stack', 'config');
    expect(config?.args).toEqual(['stack', 'config', ...files]);
    const [deploy, ...more] = docker.find('stack', 'deploy');
    expect(more).toEqual([]);
    expect(deploy!.args.join(' ')).toContain(files.join(' '));
    expect(deploy!.args.at(-1)).toBe('taskwire');
    // The secret the override names, from a generated password file (kept for the next run).
    const created = docker.find('secret', 'create').map((c) => c.args[c.args.length - 2]);
    expect(created).toContain('taskwire_postgres_password_v1');
    expect(readFileSync(join(secretsDir, 'postgres_password'), 'utf8')).toMatch(/^[0-9a-f]{48}$/);
    // A second run finds the secret and creates nothing new.
    const again = run('deploy', ['--tag', 'abc123', '--timeout', '5', '--postgres']);
    expect(again.status, again.stderr).toBe(0);
    expect(docker.find('secret', 'create').filter((c) => c.args.includes('taskwire_postgres_password_v1'))).toHaveLength(1);
    // Without the flag the override is not deployed.
    const plain = run('deploy', ['--tag', 'abc123', '--timeout', '5']);
    expect(plain.status, plain.stderr).toBe(0);
    expect(docker.find('stack', 'deploy').at(-1)!.args).not.toContain(join(REPO_ROOT, 'stack.postgres.yml'));
    // What deploy.sh asked for is a valid stack for the real docker CLI (no daemon needed).
    if (spawnSync('sh', ['-c', 'command -v docker']).status === 0) {
      const real = spawnSync('docker', config!.args, { encoding: 'utf8', env: { ...process.env, ...deploy!.env } });
      expect(real.status, real.stderr).toBe(0);
      expect(real.stdout).toContain('postgres_password');
    }
  });

  it('deploy.sh --multi-master implies --postgres: the PostgreSQL secret, docker stack config and deploy of the three files, PostgreSQL pinned by its own node label', () => {
    docker.setState({ swarm: 'active', manager: true, services: ['taskwire_master 2/2', 'taskwire_postgres 1/1', 'taskwire_worker 2/2'], stacks: [] });
    const r = run('deploy', ['--tag', 'abc123', '--timeout', '5', '--multi-master'], { TASKWIRE_MASTER_REPLICAS: '3' });
    expect(r.status, r.stderr).toBe(0);
    const files = ['-c', join(REPO_ROOT, 'stack.yml'), '-c', join(REPO_ROOT, 'stack.postgres.yml'), '-c', join(REPO_ROOT, 'stack.multi-master.yml')];
    const [config, ...moreConfigs] = docker.find('stack', 'config');
    expect(moreConfigs).toEqual([]);
    expect(config?.args).toEqual(['stack', 'config', ...files]);
    const [deploy, ...more] = docker.find('stack', 'deploy');
    expect(more).toEqual([]);
    expect(deploy!.args.join(' ')).toContain(files.join(' '));
    expect(deploy!.args.at(-1)).toBe('taskwire');
    expect(deploy!.env.TASKWIRE_MASTER_REPLICAS).toBe('3');
    expect(r.stderr).toMatch(/task store on PostgreSQL, 3 masters/);
    expect(docker.find('secret', 'create').map((c) => c.args[c.args.length - 2])).toContain('taskwire_postgres_password_v1');
    // No node had either label (the fake lists none): this node gets both, the master's first.
    expect(docker.find('node', 'update').map((c) => c.args)).toEqual([
      ['node', 'update', '--label-add', 'taskwire.master=true', 'fakenode1'],
      ['node', 'update', '--label-add', 'taskwire.postgres=true', 'fakenode1'],
    ]);
    // TASKWIRE_DEPLOY_MULTI_MASTER=1 is the same as the flag; --postgres alone deploys no multi-master override.
    const byEnv = run('deploy', ['--tag', 'abc123', '--timeout', '5'], { TASKWIRE_DEPLOY_MULTI_MASTER: '1' });
    expect(byEnv.status, byEnv.stderr).toBe(0);
    expect(docker.find('stack', 'deploy').at(-1)!.args.join(' ')).toContain(files.join(' '));
    const single = run('deploy', ['--tag', 'abc123', '--timeout', '5', '--postgres']);
    expect(single.status, single.stderr).toBe(0);
    expect(docker.find('stack', 'deploy').at(-1)!.args).not.toContain(join(REPO_ROOT, 'stack.multi-master.yml'));
    expect(docker.find('stack', 'deploy').at(-1)!.args).toContain(join(REPO_ROOT, 'stack.postgres.yml'));
    // What deploy.sh asked for is a valid stack for the real docker CLI, with the replicas it was given.
    if (spawnSync('sh', ['-c', 'command -v docker']).status === 0) {
      const real = spawnSync('docker', config!.args, { encoding: 'utf8', env: { ...process.env, ...deploy!.env } });
      expect(real.status, real.stderr).toBe(0);
      expect(real.stdout).toMatch(/TASKWIRE_MASTERS: multi/);
      expect(real.stdout).toMatch(/replicas: 3/);
    }
  });

  it('deploy.sh run twice keeps the secret versions (no rolling restart for nothing)', () => {
    docker.setState({ swarm: 'active', manager: true, services: ['taskwire_master 1/1'], stacks: [] });
    expect(run('deploy', ['--no-wait']).status).toBe(0);
    const first = docker.find('secret', 'create').length;
    expect(run('deploy', ['--no-wait']).status).toBe(0);
    const deploys = docker.find('stack', 'deploy');
    expect(deploys).toHaveLength(2);
    expect(deploys[1]!.env.TASKWIRE_SECRETS_VERSION).toBe(deploys[0]!.env.TASKWIRE_SECRETS_VERSION);
    expect(docker.find('secret', 'create')).toHaveLength(first);
  });

  it('deploy.sh waits for convergence and fails when services do not converge', () => {
    docker.setState({ swarm: 'active', manager: true, services: ['taskwire_master 0/1', 'taskwire_worker 2/2'], stacks: [] });
    const r = run('deploy', ['--timeout', '1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/not converged/);
    expect(r.stderr).toMatch(/taskwire_master: 0\/1/);
  });

  it('deploy.sh fails when the swarm rolled its update back; verify.sh only warns (the old version runs)', () => {
    docker.setState({ swarm: 'active', manager: true, services: ['taskwire_worker 2/2'], stacks: ['taskwire'], update: 'rollback_completed' });
    const r = run('deploy', ['--timeout', '5']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/update failed: taskwire_worker \(rollback_completed\)/);
    const v = run('verify', ['--endpoint', 'http://127.0.0.1:9', '--timeout', '1', '--min-workers', '0']);
    expect(v.stderr).toMatch(/warning: last update rolled back or paused: taskwire_worker/);
    expect(v.stdout).toContain('ok   converged: taskwire_worker 2/2');
  });

  it('deploy.sh waits while a rolling update is in progress', () => {
    docker.setState({ swarm: 'active', manager: true, services: ['taskwire_worker 2/2'], stacks: ['taskwire'], update: 'updating' });
    const r = run('deploy', ['--timeout', '1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/taskwire_worker: updating/);
  });

  it('refuses to run outside a swarm or on a worker node, naming the fix', () => {
    docker.setState({ swarm: 'inactive', manager: false, services: [], stacks: [] });
    for (const [name, args] of [['deploy', []], ['scale', ['worker', '2']], ['stop', []], ['logs', []], ['verify', []]] as const) {
      const r = run(name, [...args]);
      expect(r.status, name).not.toBe(0);
      expect(r.stderr, name).toMatch(/not in a swarm .*docker swarm init/);
    }
    docker.setState({ swarm: 'active', manager: false, services: [], stacks: [] });
    expect(run('deploy', []).stderr).toMatch(/not a swarm manager/);
    expect(docker.find('stack', 'deploy')).toEqual([]);
  });

  it('says so when docker is not installed at all', () => {
    // A PATH with nothing but what the scripts need before they look for docker.
    const bin = join(dir, 'nodocker');
    mkdirSync(bin);
    for (const tool of ['dirname', 'git']) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bin, tool));
    }
    const bash = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();
    for (const name of ['deploy', 'stop']) {
      const r = spawnSync(bash, [script(name)], { encoding: 'utf8', env: { PATH: bin, HOME: dir } });
      expect(r.status, name).not.toBe(0);
      expect(r.stderr, name).toMatch(/error: docker is not installed/);
    }
  });

  it('scale.sh scales a worker service and waits; master and mosquitto cannot be scaled', () => {
    docker.setState({ swarm: 'active', manager: true, services: ['taskwire_worker 3/3'], stacks: ['taskwire'] });
    const r = run('scale', ['worker', '3', '--timeout', '5']);
    expect(r.status, r.stderr).toBe(0);
    expect(docker.find('service', 'scale')[0]?.args).toEqual(['service', 'scale', '--detach', 'taskwire_worker=3']);
    for (const svc of ['master', 'mosquitto']) {
      const bad = run('scale', [svc, '2']);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/exactly one replica/);
    }
    expect(run('scale', ['nope', '2']).stderr).toMatch(/unknown service/);
    expect(docker.find('service', 'scale')).toHaveLength(1);
  });

  it('scale.sh and logs.sh need the stack to be deployed', () => {
    docker.setState({ swarm: 'active', manager: true, services: [], stacks: [] });
    expect(run('scale', ['worker', '2']).stderr).toMatch(/stack 'taskwire' is not deployed/);
    expect(run('logs', ['master']).stderr).toMatch(/stack 'taskwire' is not deployed/);
  });

  it('stop.sh removes the stack and, with --purge-secrets, its secrets', () => {
    docker.setState({ swarm: 'active', manager: true, services: [], stacks: ['taskwire'] });
    expect(run('deploy', ['--no-wait']).status).toBe(0);
    const created = docker.find('secret', 'create').map((c) => c.args[c.args.length - 2]);
    expect(created.length).toBeGreaterThan(0);
    const r = run('stop', ['--timeout', '5', '--purge-secrets']);
    expect(r.status, r.stderr).toBe(0);
    expect(docker.find('stack', 'rm')[0]?.args).toEqual(['stack', 'rm', 'taskwire']);
    const removed = docker.find('secret', 'rm').flatMap((c) => c.args.slice(2));
    expect(removed.sort()).toEqual(created.sort());
  });
});
