/**
 * An image batch's progress on the event stream, with real processes from
 * dist/: a master and a worker serving `image` (sharp). Each image's start
 * and end is a `batch.image` event carrying the batch's counts after it, the
 * fan-in a `batch.finished`; each follows the task event that caused it; a
 * retry queues the failed image again; a repeat served from recorded outputs
 * reports its images as cached. `?batch=` keeps one batch's events, on SSE,
 * Socket.IO and `taskwire events --batch`.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { faultFixture, spawnWorker, startMasterProcess, until, workerReady, type MasterProcess } from '../fault/fault-cluster.js';
import { followSocket, followSse, type SseEvent } from '../helpers/event-stream.js';

const { group, tmp } = faultFixture('taskwire-batch-events-');
const TOKEN = 'batch-events-test-token-0123456789';
let m: MasterProcess;

const png = (w: number, h: number, r: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 40, b: 200 } } }).png().toBuffer();
const CHAIN = [{ op: 'resize', width: 48, height: 32 }, { op: 'blur', sigma: 1 }, { op: 'format', format: 'png' }];

async function postImages(files: { name: string; data: Buffer }[]): Promise<{ id: string }> {
  const form = new FormData();
  form.set('ops', JSON.stringify(CHAIN));
  for (const f of files) form.append('files', new Blob([new Uint8Array(f.data)], { type: 'image/png' }), f.name);
  const res = await fetch(`${m.httpUrl}/api/v1/images`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string };
}

interface ImageEvent {
  type: 'batch.image';
  batch_id: string;
  task_id: string | null;
  index: number;
  name: string;
  status: string;
  attempt: number;
  cached: boolean;
  worker_id: string | null;
  output_blob: string | null;
  ms: number | null;
  error: { code: string } | null;
  counts: { total: number; queued: number; running: number; succeeded: number; failed: number };
}

const ofBatch = (events: SseEvent[], id: string) => events.filter((e) => (e.data as { batch_id?: string }).batch_id === id);
const finished = (events: SseEvent[], id: string, n = 1) => ofBatch(events, id).filter((e) => e.type === 'batch.finished').length >= n;

beforeAll(async () => {
  m = await startMasterProcess(group, { dataDir: `${tmp.dir}/data`, clusterToken: TOKEN });
  await workerReady(spawnWorker(group, { id: 'img-ev-w1', mqttUrl: m.mqttUrl, clusterToken: TOKEN, dir: tmp.dir, capacity: 2, env: { TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' } }));
}, 60_000);

describe('image batch progress events', () => {
  it('one batch.image per start and end of each image with the counts after it, each after its task event, then batch.finished; a retry and a cached repeat', async () => {
    const all = followSse(`${m.httpUrl}/api/v1/events`);
    const whole = await png(300, 200, 9);
    const files = [
      { name: 'a.png', data: await png(200, 120, 1) },
      { name: 'b.png', data: await png(210, 120, 2) },
      { name: 'cut.png', data: whole.subarray(0, Math.floor(whole.length * 0.6)) },
      { name: 'c.png', data: await png(220, 120, 3) },
    ];
    await new Promise((r) => setTimeout(r, 300)); // the follower's request is answered
    const { id } = await postImages(files);
    await until(() => finished(all.events, id), 'batch.finished on the stream', 60_000);

    const mine = ofBatch(all.events, id);
    const images = mine.filter((e) => e.type === 'batch.image').map((e) => e.data as unknown as ImageEvent);
    // Every image ends once; running events come before the end of their image.
    const ends = images.filter((e) => e.status === 'succeeded' || e.status === 'failed');
    expect(ends.map((e) => e.name).sort()).toEqual(['a.png', 'b.png', 'c.png', 'cut.png']);
    for (const e of ends) {
      expect(e).toMatchObject({ batch_id: id, attempt: 1, cached: false, worker_id: 'img-ev-w1', name: files[e.index]!.name });
      expect(e.ms).not.toBeNull();
      if (e.name === 'cut.png') expect(e).toMatchObject({ status: 'failed', error: { code: 'BAD_INPUT' }, output_blob: null });
      else expect(e.status === 'succeeded' && typeof e.output_blob === 'string').toBe(true);
    }
    for (const r of images.filter((e) => e.status === 'running')) {
      expect(r.worker_id).toBe('img-ev-w1');
      expect(images.indexOf(r)).toBeLessThan(images.findIndex((e) => e.index === r.index && e.status !== 'running'));
    }
    // The counts after each end: one more image done each time, the total throughout.
    expect(ends.map((e) => e.counts.succeeded + e.counts.failed)).toEqual([1, 2, 3, 4]);
    expect(ends.every((e) => e.counts.total === 4)).toBe(true);
    // Each batch.image comes after the task event that caused it (ids of one stream).
    for (const e of mine.filter((x) => x.type === 'batch.image')) {
      const d = e.data as unknown as ImageEvent;
      const cause = d.status === 'running' ? 'task.started' : `task.${d.status}`;
      const at = all.events.findIndex((x) => x.type === cause && x.data.task_id === d.task_id);
      expect(at, `${cause} of ${d.task_id}`).toBeGreaterThanOrEqual(0);
      expect(all.events[at]!.id).toBeLessThan(e.id);
    }
    const fin = mine.at(-1)!;
    expect(fin.type).toBe('batch.finished');
    expect(fin.data).toMatchObject({ batch_id: id, status: 'failed', counts: { total: 4, succeeded: 3, failed: 1, queued: 0, running: 0 } });
    expect(fin.data.owner).toBe(ends[0]!.task_id ? all.events.find((x) => x.type === 'task.queued' && x.data.task_id === ends[0]!.task_id)!.data.owner : null);

    // Retry: the failed image is queued again (attempt 2, its error cleared), ends again, and the batch finishes again.
    expect((await fetch(`${m.httpUrl}/api/v1/batches/${id}/retry`, { method: 'POST' })).status).toBe(202);
    await until(() => finished(all.events, id, 2), 'the second batch.finished', 60_000);
    const after = ofBatch(all.events, id).slice(mine.length).map((e) => ({ type: e.type, ...(e.data as unknown as Partial<ImageEvent>) }));
    // Its task may be placed before the event is built: then it already shows running (on its worker).
    expect(after[0]).toMatchObject({ type: 'batch.image', name: 'cut.png', attempt: 2, error: null, counts: { succeeded: 3, failed: 0 } });
    expect(after[0]!.counts!.queued + after[0]!.counts!.running).toBe(1);
    expect(['queued', 'running']).toContain(after[0]!.status);
    expect(after.filter((e) => e.type === 'batch.image' && e.status === 'failed')).toHaveLength(1);
    expect(after.at(-1)).toMatchObject({ type: 'batch.finished', status: 'failed' });
    expect(after.some((e) => e.name !== undefined && e.name !== 'cut.png')).toBe(false); // the others never re-run

    // The same images again (the good ones known): cached ends at once, the cut one runs again.
    const { id: again } = await postImages(files);
    await until(() => finished(all.events, again), 'the repeat finished', 60_000);
    const repeat = ofBatch(all.events, again).filter((e) => e.type === 'batch.image').map((e) => e.data as unknown as ImageEvent);
    expect(repeat.filter((e) => e.cached).map((e) => e.name).sort()).toEqual(['a.png', 'b.png', 'c.png']);
    expect(repeat.filter((e) => e.cached).every((e) => e.status === 'succeeded' && e.task_id === null)).toBe(true);
    await all.close();

    // ?batch= on a page, on SSE and Socket.IO: exactly that batch's events, resumable from any id.
    const page = (await (await fetch(`${m.httpUrl}/api/v1/events?follow=false&since=0&batch=${id}`)).json()) as { events: { id: number; batch_id: string; type: string }[] };
    expect(page.events.map((e) => e.id)).toEqual(ofBatch(all.events, id).map((e) => e.id));
    const resumed = followSse(`${m.httpUrl}/api/v1/events?batch=${id}&since=${page.events[2]!.id}`);
    const sock = followSocket(m.httpUrl, { query: { batch: again, since: '0' } });
    await sock.connected;
    await until(() => resumed.events.length >= page.events.length - 3 && sock.events.some((e) => e.type === 'batch.finished'), 'the batch followers replayed', 10_000);
    expect(resumed.events.map((e) => e.id)).toEqual(page.events.slice(3).map((e) => e.id));
    expect(sock.events.every((e) => e.batch_id === again)).toBe(true);
    expect(sock.events.map((e) => e.id)).toEqual(ofBatch(all.events, again).map((e) => e.id));
    sock.socket.close();
    await resumed.close();

    // The CLI: the same page as lines naming the batch, image, status and how many are done.
    const cli = group.taskwire('cli events', ['events', '--batch', id], { env: { TASKWIRE_URL: m.httpUrl, TASKWIRE_API_KEY: '' } });
    expect((await cli.waitForExit(30_000)).code).toBe(0);
    const lines = cli.lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
    expect(lines).toHaveLength(page.events.length);
    expect(lines.at(-1)).toMatch(new RegExp(`batch\\.finished +batch=${id} status=failed done=4/4`));
    expect(lines.filter((l) => / batch\.image +.*image=cut\.png status=failed/.test(l))).toHaveLength(2);
  }, 120_000);

  it('refuses a bad batch filter with 400 naming it', async () => {
    const res = await fetch(`${m.httpUrl}/api/v1/events?follow=false&batch=`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field?: string; message: string } }).error.message).toMatch(/batch/);
  });
});
