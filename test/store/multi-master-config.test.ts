/** TASKWIRE_MASTERS: `multi` only with the shared parts (a PostgreSQL store, an external broker), refused naming the variable. */
import { describe, expect, it } from 'vitest';
import { resolveMasterOptions } from '../../master/config.js';
import { masterOptionsFromEnv } from '../../master/master-options-from-env.js';

describe('TASKWIRE_MASTERS', () => {
  const pg = 'postgres://taskwire@127.0.0.1:5432/taskwire';
  it('is single by default, multi with a PostgreSQL store and an external broker', async () => {
    expect(resolveMasterOptions({}).masters).toBe('single');
    const env = { TASKWIRE_MASTERS: 'multi', TASKWIRE_STORE: pg, TASKWIRE_MQTT_URL: 'mqtt://127.0.0.1:1883', TASKWIRE_MASTER_LEASE_MS: '3000' };
    const o = resolveMasterOptions(await masterOptionsFromEnv(env));
    expect(o.masters).toBe('multi');
    expect(o.masterLeaseMs).toBe(3000);
  });

  it('refuses multi without PostgreSQL or without an external broker, and a bad value or lease', async () => {
    await expect(async () => resolveMasterOptions(await masterOptionsFromEnv({ TASKWIRE_MASTERS: 'multi', TASKWIRE_MQTT_URL: 'mqtt://127.0.0.1:1883' }))).rejects.toThrow(/TASKWIRE_MASTERS.*TASKWIRE_STORE/);
    await expect(async () => resolveMasterOptions(await masterOptionsFromEnv({ TASKWIRE_MASTERS: 'multi', TASKWIRE_STORE: pg }))).rejects.toThrow(/TASKWIRE_MASTERS.*TASKWIRE_MQTT_URL/);
    await expect(masterOptionsFromEnv({ TASKWIRE_MASTERS: 'many' })).rejects.toThrow(/TASKWIRE_MASTERS/);
    await expect(masterOptionsFromEnv({ TASKWIRE_MASTER_LEASE_MS: '10' })).rejects.toThrow(/TASKWIRE_MASTER_LEASE_MS/);
  });
});
