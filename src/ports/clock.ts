// The Clock port: the one place the loops around decide() read time, in seconds (decide()'s unit).
// `now` is wall time for what people and the Kubernetes API see (event times, lease renewTime,
// decide()'s `now`); `monotonic` is for deadlines and intervals, which a wall-clock step (NTP) must
// not stretch or cut short. `sleep` waits on the global timers.
//
// systemClock reads Date.now, performance.now and setTimeout when called, not when imported, so
// vitest's fake timers (`vi.useFakeTimers()`, which fake all three) step it: tests need no
// hand-written fake, e.g. `await vi.advanceTimersByTimeAsync(15_000)` moves both clocks 15 s.

export interface Clock {
  /** Wall time, seconds since the Unix epoch (fractional). */
  now(): number;
  /** Seconds on a monotonic clock with an arbitrary origin: compare two readings, never show one. */
  monotonic(): number;
  /** Resolves after `seconds`, or at once when `signal` aborts (never rejects). */
  sleep(seconds: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now() / 1000,
  monotonic: () => performance.now() / 1000,
  sleep: (seconds, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, seconds * 1000));
      signal?.addEventListener('abort', done, { once: true });
    }),
};
