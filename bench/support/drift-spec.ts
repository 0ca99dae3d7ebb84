// The bad-release spec shared by bench/model-drift.ts (real time scale) and
// test/e2e/run-model-drift.test.ts (time-compressed): one service, spec serviceTimeMs 20,
// concurrency 1, run as the example service with WORK_MS=20 (sleep, exponential), so an instance
// carries 50 rps. `run.command` exports WORK_MS=40 when the flag file exists: every instance started
// after it is created is twice as slow (the release).

export const DRIFT_SLO_MS = 300;

export interface DriftSpecOptions {
  /** The flag file: instances started while it exists take 40 ms. */
  flag: string;
  /** examples/service.ts, absolute. */
  service: string;
  calibrate: boolean;
  /** More `run:` keys (two-space indented lines), e.g. a shorter stable window for the test. */
  run?: readonly string[];
  /** Top-level lines after `run:` (e.g. an `alerts:` block). */
  tail?: readonly string[];
}

export function driftSpecYaml(o: DriftSpecOptions): string {
  const script =
    'if [ -f "$SLOW_FLAG" ]; then export WORK_MS=40; fi; exec "$NODE_BIN" --disable-warning=ExperimentalWarning "$SERVICE"';
  return [
    'services:',
    '  - name: web',
    '    instance: { serviceTimeMs: 20, concurrency: 1, serviceTimeCv: 1 }',
    `    slo: { latencyMs: ${DRIFT_SLO_MS}, percentile: 99 }`,
    '    targetUtilization: 0.7',
    '    replicas: { min: 1, max: 10 }',
    '    startupSeconds: 2',
    'run:',
    `  command: [sh, -c, ${JSON.stringify(script)}]`,
    '  env:',
    '    WORK_MS: 20',
    '    CONCURRENCY: 1',
    '    WORK_MODE: sleep',
    '    WORK_DIST: exponential',
    `    SLOW_FLAG: ${JSON.stringify(o.flag)}`,
    `    NODE_BIN: ${JSON.stringify(process.execPath)}`,
    `    SERVICE: ${JSON.stringify(o.service)}`,
    '  port: 0',
    '  statusPort: 0',
    '  initialReplicas: 3',
    ...(o.run ?? []),
    `  calibrate: ${o.calibrate}`,
    ...(o.tail ?? []),
    '',
  ].join('\n');
}
