/**
 * What a handler supports within its kind, advertised in
 * WorkerStatus.features as `<kind>:<feature>` (docs/PROTOCOL.md): a handler
 * that has a `features()` method lists them; one without serves all of its kind.
 */
import type { TaskHandler } from './task-handler.js';

export interface AdvertisesFeatures {
  features(): string[];
}

export function handlerFeatures(h: TaskHandler): string[] {
  const f = (h as Partial<AdvertisesFeatures>).features;
  return typeof f === 'function' ? f.call(h) : [];
}
