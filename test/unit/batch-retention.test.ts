/**
 * Finished image batches are forgotten after their retention, in memory and
 * in the store (SQLite batches.db here): a batch of images whose outputs are
 * already recorded finishes at once (no task), stays while young, and is gone
 * (404, no rows; also after a restore) once it finished longer ago than the
 * retention.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { imageChain } from '../../common/kinds/image.js';
import { BatchService, outputKey } from '../../master/batches/batch-service.js';
import { SqliteBatchStore } from '../../master/batches/sqlite-batch-store.js';
import { BlobStore } from '../../master/blobs/blob-store.js';
import { taskServiceRig } from '../helpers/task-service-rig.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('batch retention', () => {
  it('prunes finished batches past the retention from memory and batches.db', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-batch-retention-'));
    dirs.push(dir);
    const rig = taskServiceRig();
    const blobs = new BlobStore({ dir: join(dir, 'blobs') });
    const ops = imageChain.parse([{ op: 'grayscale' }]);
    const input = await blobs.put(Buffer.from('input bytes'), 'image/png');
    const output = await blobs.put(Buffer.from('output bytes'), 'image/png');
    await blobs.link(outputKey(input.id, ops), JSON.stringify({ output: { blob: output.id, bytes: 12, width: 1, height: 1, format: 'png', content_type: 'image/png', ms: 1 }, worker_id: 'w' }));

    const path = join(dir, 'batches.db');
    const hour = 3600_000;
    const service = new BatchService(rig.svc, blobs, rig.clock, silentLogger(), { store: new SqliteBatchStore(path), retentionMs: hour });
    const old = await service.create([{ name: 'a.png', blob: input.id }], ops);
    expect(old).toMatchObject({ status: 'succeeded', counts: { total: 1, succeeded: 1 } });
    await rig.advance(hour / 2);
    const young = await service.create([{ name: 'b.png', blob: input.id }], ops);
    expect(service.prune()).toBe(0);

    await rig.advance(hour / 2 + 1);
    expect(service.prune()).toBe(1);
    expect(() => service.get(old.id)).toThrow(/no batch/);
    expect(service.get(young.id).status).toBe('succeeded');
    await service.close();

    // What the store keeps: only the young one, also for the next master.
    const reopened = new SqliteBatchStore(path);
    expect((await reopened.load()).map((b) => b.id)).toEqual([young.id]);
    const again = new BatchService(rig.svc, blobs, rig.clock, silentLogger(), { store: reopened, retentionMs: hour });
    await rig.advance(hour);
    expect(await again.restore()).toEqual({ batches: 0, unfinished: 0 });
    await again.close();
    const last = new SqliteBatchStore(path);
    expect(await last.load()).toEqual([]);
    await last.close();
  });
});
