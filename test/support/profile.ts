// A capacity profile's load-test step for tests that write profiles by hand (src/input/profile.ts).

/** One step at `targetRps` that met the SLO or not; `achievedRps` defaults to the target. */
export function profileStep(targetRps: number, sloMet: boolean, achievedRps = targetRps) {
  return {
    targetRps,
    achievedRps,
    sent: 10,
    completed: 10,
    errors: 0,
    dropped: 0,
    latencyMs: { p50: 1, p90: 1, p99: 1, p999: 1, max: 1 },
    sloMet,
  };
}
