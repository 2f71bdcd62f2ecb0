/**
 * `TASKWIRE_BENCH_PROFILE=<dir>`: the measured phase of a benchmark is
 * recorded as a V8 CPU profile (`<dir>/<name>.cpuprofile`, open it in Chrome
 * DevTools or speedscope) through node:inspector, without the start-up that
 * `node --cpu-prof` would include. Without the variable it only runs `fn`.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env['TASKWIRE_BENCH_PROFILE'];
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
