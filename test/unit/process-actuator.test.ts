import { describe, expect, it } from 'vitest';
import { ProcessActuator, type DrainHost } from '../../master/autoscaling/process-actuator.js';

/** Units that stop when told; a host whose workers' states and in-flight counts the test sets. */
function rig() {
  const state = new Map<string, { state: 'online' | 'draining' | 'offline'; inFlight: number }>();
  const stopped: string[] = [];
  const drainsSent: string[] = [];
  const host: DrainHost = {
    drain: (id) => {
      drainsSent.push(id);
      const w = state.get(id);
      if (w) w.state = 'draining'; // the worker announces draining
    },
    worker: (id) => state.get(id),
  };
  const actuator = new ProcessActuator({
    idPrefix: 'w',
    host,
    pollMs: 5,
    spawn: (id) => {
      state.set(id, { state: 'online', inFlight: 0 });
      let done!: () => void;
      const exited = new Promise<void>((r) => (done = r));
      return {
        exited,
        stop: async () => {
          stopped.push(id);
          state.set(id, { state: 'offline', inFlight: 0 });
          done();
        },
      };
    },
  });
  return { actuator, state, stopped, drainsSent };
}

describe('local actuator', () => {
  it('scale-down drains the least busy worker first and stops it only when it runs nothing; a scale-up meanwhile is not held back', async () => {
    const { actuator, state, stopped, drainsSent } = rig();
    expect(await actuator.scaleTo(3)).toBe(3);
    expect(actuator.ids()).toEqual(['w-1', 'w-2', 'w-3']);
    state.get('w-1')!.inFlight = 2;
    state.get('w-2')!.inFlight = 1;
    state.get('w-3')!.inFlight = 1;
    // Down to 1: w-3 and w-2 (least in flight, newest first on ties); returns at once.
    expect(await actuator.scaleTo(1)).toBe(1);
    expect(actuator.ids()).toEqual(['w-1']);
    await new Promise((r) => setTimeout(r, 30));
    expect(drainsSent.sort()).toEqual(['w-2', 'w-3']);
    expect(stopped).toEqual([]); // still running their tasks
    // A burst while they drain: a new worker at once (never a reused id).
    expect(await actuator.scaleTo(2)).toBe(2);
    expect(actuator.ids()).toEqual(['w-1', 'w-4']);
    state.get('w-3')!.inFlight = 0;
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toEqual(['w-3']);
    state.get('w-2')!.inFlight = 0;
    await actuator.drained();
    expect(stopped.sort()).toEqual(['w-2', 'w-3']);
    expect(actuator.counts).toMatchObject({ started: 4, drained: 2, drainedBusy: 2, drainTimeouts: 0 });
    await actuator.close();
    expect(stopped.sort()).toEqual(['w-1', 'w-2', 'w-3', 'w-4']);
  });

  it('a worker that exits on its own is no longer counted (the next evaluation replaces it)', async () => {
    const { actuator } = rig();
    await actuator.scaleTo(2);
    expect(await actuator.replicas()).toBe(2);
    await (actuator as unknown as { units: Map<string, { stop(): Promise<void> }> }).units.get('w-1')!.stop();
    await new Promise((r) => setTimeout(r, 5));
    expect(await actuator.replicas()).toBe(1);
    await actuator.close();
  });
});
