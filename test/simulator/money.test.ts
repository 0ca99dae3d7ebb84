// Money in `headroom simulate`: each policy's instance-seconds priced over the trace and per month,
// the difference from Headroom, and nothing of it without pricing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpecText } from '../../src/input/load.ts';
import { runSimulation } from '../../src/simulator/run.ts';
import { syntheticTrace } from '../../src/simulator/synthetic.ts';
import { rescaleToPeak } from '../../src/input/trace.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'headroom-money-'));
const service = `services:
  - name: api
    instance: { serviceTimeMs: 20, concurrency: 4, cpu: 500m, memory: 1Gi }
    slo: { latencyMs: 100, percentile: 99 }
`;
// 0.5 CPU × 0.0316 + 1 GiB × 0.0042 = 0.02 USD per instance-hour
const pricing = 'pricing: { currency: USD, cpuHour: 0.0316, memoryGiBHour: 0.0042 }\n';
const priced = join(dir, 'priced.yaml');
const plain = join(dir, 'plain.yaml');
writeFileSync(priced, `${pricing}${service}`);
writeFileSync(plain, service);
const TRACE = 'synthetic:diurnal,days=1';
const GOLDEN = fileURLToPath(new URL('../golden/simulate.txt', import.meta.url));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'simulate', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('simulate with pricing', { timeout: 120_000 }, () => {
  it('a static count costs count × 0.02 × 730 a month; every policy: trace cost, month, difference from headroom', () => {
    const model = parseSpecText(`${pricing}${service}`, 'spec.yaml').services[0]!;
    const r = runSimulation({
      trace: rescaleToPeak(syntheticTrace(TRACE), 1000),
      model,
      policies: ['headroom', 'static', 'oracle'],
    });
    expect(r.pricing?.currency).toBe('USD');
    expect(r.pricing?.perInstanceHour).toBeCloseTo(0.02, 12);
    expect(r.trace.seconds).toBe(86_400);
    const stat = r.policies.find((p) => p.policy === 'static')!;
    // static runs its peak count all day: independent of the cost function's arithmetic.
    expect(stat.replicaSeconds).toBe(stat.peakReplicas * 86_400);
    expect(stat.money?.total).toBeCloseTo(stat.peakReplicas * 24 * 0.02, 9);
    expect(stat.money?.perMonth).toBeCloseTo(stat.peakReplicas * 730 * 0.02, 9);
    const hr = r.policies.find((p) => p.policy === 'headroom')!;
    expect(hr.money?.vsHeadroomPerMonth).toBe(0);
    for (const p of r.policies) {
      expect(p.money?.total).toBeCloseTo((p.replicaSeconds / 3600) * 0.02, 9);
      expect(p.money?.perMonth).toBeCloseTo(((p.money?.total ?? 0) * 730) / 24, 9);
      expect(p.money?.vsHeadroomPerMonth).toBeCloseTo((p.money?.perMonth ?? 0) - (hr.money?.perMonth ?? 0), 9);
    }
    // The oracle is the cheapest: headroom can only cost more.
    expect(r.policies.find((p) => p.policy === 'oracle')!.money!.vsHeadroomPerMonth!).toBeLessThanOrEqual(0);
  });

  it('the CLI: money columns, --json money fields, report columns; without pricing none of it', () => {
    const args = ['--trace', TRACE, '--peak', '1000', '--policy', 'headroom', '--policy', 'static', '--policy', 'hpa'];
    const text = cli(...args, '--spec', priced);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      "pricing: 0.02 USD per instance-hour; USD/month = instance-hours × that × 730 h ÷ the trace's 24 h",
    );
    expect(text.stdout).toMatch(/│ USD \(trace\) │ USD\/month │ vs headroom │/);
    const json = JSON.parse(cli(...args, '--spec', priced, '--json').stdout) as Record<string, unknown> & {
      pricing: unknown;
      policies: Array<{ policy: string; replicaSeconds: number; peakReplicas: number; money?: Record<string, number> }>;
    };
    expect(json.pricing).toEqual({ currency: 'USD', perInstanceHour: 0.02, hoursPerMonth: 730 });
    const stat = json.policies.find((p) => p.policy === 'static')!;
    expect(stat.money).toEqual({
      total: Math.round(stat.peakReplicas * 24 * 0.02 * 100) / 100,
      perMonth: Math.round(stat.peakReplicas * 730 * 0.02 * 100) / 100,
      vsHeadroomPerMonth: expect.any(Number) as number,
    });
    // The row in the table shows the same numbers.
    const row = text.stdout.split('\n').find((l) => l.startsWith('│ static '));
    expect(row).toContain(`│ ${stat.money?.perMonth?.toFixed(2)} `);
    expect(row).toContain(`│ +${stat.money?.vsHeadroomPerMonth?.toFixed(2)} `);

    const plainText = cli(...args, '--spec', plain);
    expect(plainText.code).toBe(0);
    // test/golden/simulate.txt is the unpriced output, written by the code before pricing existed and
    // rewritten (by hand, diff reviewed) only when a policy's decisions change: unchanged byte for byte.
    expect(plainText.stdout).toBe(readFileSync(GOLDEN, 'utf8'));
    expect(plainText.stdout).not.toMatch(/USD|pricing|vs headroom/);
    const plainJson = JSON.parse(cli(...args, '--spec', plain, '--json').stdout) as typeof json;
    // Priced JSON without its money fields is the unpriced JSON.
    const { pricing: _p, ...rest } = json;
    expect({ ...rest, policies: json.policies.map(({ money: _m, ...p }) => p) }).toEqual(plainJson);

    const report = join(dir, 'priced.html');
    const plainReport = join(dir, 'plain.html');
    expect(cli(...args, '--spec', priced, '--report', report).code).toBe(0);
    expect(cli(...args, '--spec', plain, '--report', plainReport).code).toBe(0);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('<th>USD (trace)</th><th>USD/month</th><th>vs Headroom</th>');
    expect(html).toContain('Priced at 0.02 USD per instance-hour');
    expect(readFileSync(plainReport, 'utf8')).not.toMatch(/USD|Priced at/);
  });
});
