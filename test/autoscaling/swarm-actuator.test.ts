import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerEngine, parseDockerHost } from '../../master/autoscaling/docker-engine.js';
import { ActuatorError } from '../../master/autoscaling/scaling-actuator.js';
import { SwarmActuator } from '../../master/autoscaling/swarm-actuator.js';
import { FakeEngineApi } from './fake-engine-api.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engine(where: 'unix' | 'tcp'): Promise<{ api: FakeEngineApi; engine: DockerEngine }> {
  const api = new FakeEngineApi();
  let address: string;
  if (where === 'unix') {
    const dir = mkdtempSync(join(tmpdir(), 'tw-engine-'));
    address = await api.listen({ socketPath: join(dir, 'docker.sock') });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  } else {
    address = await api.listen({ port: 0 });
  }
  cleanups.push(() => api.close());
  return { api, engine: new DockerEngine(parseDockerHost(address)) };
}

describe('Swarm actuator over the Docker Engine API', () => {
  it.each(['unix', 'tcp'] as const)('reads and sets Replicas over %s, keeping the rest of the spec, at the version read', async (where) => {
    const { api, engine: e } = await engine(where);
    const svc = api.addService('taskwire_worker', 2);
    const a = new SwarmActuator({ engine: e, service: 'taskwire_worker' });
    expect(await a.replicas()).toBe(2);
    expect(await a.scaleTo(5)).toBe(5);
    expect(svc.Spec.Mode.Replicated?.Replicas).toBe(5);
    expect(svc.Spec.TaskTemplate).toEqual({ ContainerSpec: { Image: 'taskwire:test' } });
    expect(svc.Spec.Labels).toEqual({ 'com.docker.stack.namespace': 'taskwire' });
    const update = api.calls.find((c) => c.method === 'POST')!;
    expect(update.path).toBe(`/v1.41/services/${svc.ID}/update`);
    expect(update.version).toBe(10);
    // Setting the count it already has writes nothing.
    const before = api.calls.filter((c) => c.method === 'POST').length;
    expect(await a.scaleTo(5)).toBe(5);
    expect(api.calls.filter((c) => c.method === 'POST').length).toBe(before);
  });

  it('a version conflict (update out of sequence) is answered by reading again and retrying', async () => {
    const { api, engine: e } = await engine('tcp');
    const svc = api.addService('w', 1);
    const a = new SwarmActuator({ engine: e, service: 'w' });
    api.raceNextUpdates = 2;
    expect(await a.scaleTo(3)).toBe(3);
    expect(a.conflicts).toBe(2);
    expect(svc.Spec.Mode.Replicated?.Replicas).toBe(3);
    expect(api.history).toEqual([3]);
    // Conflicts that never stop: a clear error, not a loop.
    api.raceNextUpdates = 100;
    await expect(new SwarmActuator({ engine: e, service: 'w', maxConflicts: 3 }).scaleTo(4)).rejects.toThrow(/out of sequence after 3 tries/);
    expect(svc.Spec.Mode.Replicated?.Replicas).toBe(3);
  });

  it('names what is wrong: unknown service, global service, no permission, nothing listening, a bad address', async () => {
    const { api, engine: e } = await engine('tcp');
    api.addService('g', 0, 'global');
    await expect(new SwarmActuator({ engine: e, service: 'nope' }).replicas()).rejects.toThrow(/404: service nope not found/);
    await expect(new SwarmActuator({ engine: e, service: 'g' }).scaleTo(2)).rejects.toThrow(/not replicated/);
    api.forceStatus = 403;
    await expect(new SwarmActuator({ engine: e, service: 'g' }).replicas()).rejects.toThrow(/403.*Swarm manager/);
    const dead = new DockerEngine(parseDockerHost('unix:///nonexistent/docker.sock'));
    await expect(new SwarmActuator({ engine: dead, service: 'w' }).replicas()).rejects.toBeInstanceOf(ActuatorError);
    expect(() => parseDockerHost('https://x:2376')).toThrow(/TASKWIRE_DOCKER_HOST/);
  });
});
