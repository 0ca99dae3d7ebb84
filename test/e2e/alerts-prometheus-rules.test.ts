// The rules `headroom alerts export` prints fire in a REAL Prometheus (Debian package) that scrapes
// a real `headroom run`: the service is driven into overload and every overload-related built-in
// rule must reach `firing` in Prometheus's own GET /api/v1/rules. Before metric-names.ts was the
// one source of truth, the rules queried names /metrics never exported, and none could fire.
//
// The exported rules are used as printed, except their durations: `for:` → 3s and every range
// ([5m], [1h], [30m], [6h], [10m]) → [20s], so the test takes about a minute, not six hours.
//
// Overload, by construction: WORK_MS=50, CONCURRENCY=2 in sleep mode → 40 rps per instance; at
// most 2 instances (replicas.max, and instance.memory = host memory ÷ 2.5 so the host fits 2) →
// 80 rps, driven with 70 → 140 rps rising. The queue grows: p99 ≫ the 300 ms SLO (latency, burn),
// FAIL_RATE=0.1 answers 10 % with 500 (error rate > 5 %), needed > 2 (cannot fit, at max while
// demand grows), and instance.cpu 10m makes any busy instance > 90 % of its CPU request.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLE_SERVICE } from '../local/helpers.ts';
import { cli } from './support/cli.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const OVERLOAD_RULES = [
  'HeadroomInstanceCpuHigh',
  'HeadroomLatencyOverSlo',
  'HeadroomErrorBudgetBurnFast',
  'HeadroomErrorBudgetBurnSlow',
  'HeadroomErrorRateHigh',
  'HeadroomAtMaxReplicas',
  'HeadroomCannotFit',
];

const dir = mkdtempSync(join(tmpdir(), 'headroom-prom-rules-'));
let prom: Prometheus | undefined;
afterAll(async () => {
  await prom?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface RulesAnswer {
  data: { groups: Array<{ rules: Array<{ name: string; state: string; health: string; lastError?: string }> }> };
}

/** Open-loop load rising linearly from `from` to `to` rps over `seconds`; bounded in time. */
function ramp(url: string, from: number, to: number, seconds: number): { stop(): Promise<number> } {
  let sent = 0;
  let stopped = false;
  const t0 = performance.now();
  const inflight = new Set<Promise<void>>();
  const loop = (async () => {
    while (!stopped && performance.now() - t0 < seconds * 1000) {
      const t = (performance.now() - t0) / 1000;
      // Requests due by t: ∫ (from + (to − from)·u/seconds) du = from·t + (to − from)·t²/(2·seconds).
      const due = Math.floor(from * t + ((to - from) * t * t) / (2 * seconds));
      while (sent < due) {
        sent++;
        const p = request(url, { headersTimeout: 30_000, bodyTimeout: 30_000 })
          .then((r) => r.body.dump())
          .catch(() => undefined)
          .then(() => void inflight.delete(p));
        inflight.add(p);
      }
      await sleep(10);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.race([Promise.all(inflight), sleep(5000)]);
      return sent;
    },
  };
}

describe('exported alert rules in a real Prometheus scraping a real headroom run', () => {
  it('every overload-related rule goes to firing', async () => {
    const exported = await cli(['alerts', 'export']);
    expect(exported.code).toBe(0);
    const rules = exported.stdout.replace(/^(\s+for: ).+$/gm, '$13s').replace(/\[(\d+[smhd])+\]/g, '[20s]');
    for (const r of OVERLOAD_RULES) expect(rules).toContain(`alert: ${r}`);
    const rulesFile = join(dir, 'rules.yaml');
    writeFileSync(rulesFile, rules);

    const memMi = Math.floor(totalmem() / 2.5 / 2 ** 20);
    const spec = join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      [
        'services:',
        '  - name: web',
        `    instance: { serviceTimeMs: 50, concurrency: 2, cpu: 10m, memory: ${memMi}Mi }`,
        '    slo: { latencyMs: 300, percentile: 99 }',
        '    replicas: { min: 1, max: 2 }',
        '    startupSeconds: 1',
        'run:',
        `  command: [node, ${JSON.stringify(EXAMPLE_SERVICE)}]`,
        '  env: { WORK_MS: 50, CONCURRENCY: 2, WORK_MODE: sleep, FAIL_RATE: 0.1 }',
        '  port: 0',
        '  statusPort: 0',
        '  tickSeconds: 0.5',
        '  stableWindowSeconds: 10',
        '  drainTimeoutSeconds: 2',
        '  killGraceSeconds: 2',
        '',
      ].join('\n'),
    );
    const env = { ...process.env };
    delete env.HEADROOM_TOKEN;
    const run = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'run', spec, '--no-live'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let out = '';
    let err = '';
    run.stdout.on('data', (c: Buffer) => (out += c.toString()));
    run.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => run.on('exit', (code) => r(code)));
    const killer = setTimeout(() => run.kill('SIGKILL'), 170_000);
    try {
      let lb: string | undefined;
      let status: string | undefined;
      for (let i = 0; i < 200 && !(lb && status); i++) {
        lb = /send requests to\s+(\S+)/.exec(out)?.[1];
        status = /status API\s+http:\/\/(\S+)\/api\/status/.exec(out)?.[1];
        await sleep(100);
      }
      expect(status, `headroom run did not start: ${out}${err}`).toBeDefined();
      prom = await startPrometheus({ headroom: [status!] }, '1s', [rulesFile]);

      const t0 = performance.now();
      const load = ramp(lb!, 70, 140, 100);
      const firedAt = new Map<string, number>();
      let last: RulesAnswer | undefined;
      while (firedAt.size < OVERLOAD_RULES.length && performance.now() - t0 < 100_000) {
        await sleep(1000);
        const r = await request(`${prom.url}/api/v1/rules?type=alert`);
        last = (await r.body.json()) as RulesAnswer;
        for (const rule of last.data.groups.flatMap((g) => g.rules)) {
          if (OVERLOAD_RULES.includes(rule.name) && rule.state === 'firing' && !firedAt.has(rule.name)) {
            firedAt.set(rule.name, Math.round((performance.now() - t0) / 1000));
          }
        }
      }
      const sent = await load.stop();
      const all = last?.data.groups.flatMap((g) => g.rules) ?? [];
      // Every exported rule evaluates cleanly in Prometheus (no PromQL error at query time).
      expect(all.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
      console.log(`fired after (s): ${JSON.stringify(Object.fromEntries(firedAt))}; ${sent} requests sent`);
      expect([...firedAt.keys()].sort()).toEqual([...OVERLOAD_RULES].sort());
      // Not everything fires: memory is far below its request, nothing crash-loops.
      expect(all.find((r) => r.name === 'HeadroomInstanceMemoryHigh')?.state).toBe('inactive');
      expect(all.find((r) => r.name === 'HeadroomCrashLooping')?.state).toBe('inactive');
    } finally {
      run.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
    }
  }, 200_000);
});
