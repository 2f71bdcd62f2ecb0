/** TASKWIRE_MAX_INPUT_BYTES is capped so an accepted input always fits its worker's MQTT assignment (4 MiB). */
import { describe, expect, it } from 'vitest';
import { MAX_INPUT_BYTES_LIMIT, resolveMasterOptions } from '../../master/config.js';
import { masterOptionsFromEnv } from '../../master/master-options-from-env.js';
import { MAX_MQTT_PAYLOAD_BYTES } from '../../common/wire.js';

describe('TASKWIRE_MAX_INPUT_BYTES', () => {
  it('accepts up to the limit and refuses more, naming the variable, from the environment and from options', async () => {
    expect(MAX_INPUT_BYTES_LIMIT).toBeLessThan(MAX_MQTT_PAYLOAD_BYTES);
    expect(resolveMasterOptions(await masterOptionsFromEnv({ TASKWIRE_MAX_INPUT_BYTES: String(MAX_INPUT_BYTES_LIMIT) })).maxInputBytes).toBe(MAX_INPUT_BYTES_LIMIT);
    await expect(masterOptionsFromEnv({ TASKWIRE_MAX_INPUT_BYTES: String(8 * 1024 * 1024) })).rejects.toThrow(/TASKWIRE_MAX_INPUT_BYTES/);
    expect(() => resolveMasterOptions({ maxInputBytes: MAX_INPUT_BYTES_LIMIT + 1 })).toThrow(/TASKWIRE_MAX_INPUT_BYTES.*at most/);
  });
});
