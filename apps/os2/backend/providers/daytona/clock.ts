/** Time source, injectable so caches can be tested with a fake clock instead of real waiting. */
export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
