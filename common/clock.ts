/** Time source, injectable so unit tests can use fake clocks. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
