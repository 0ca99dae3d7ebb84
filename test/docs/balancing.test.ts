// docs/controller.md's worked example of `service.loadBalancing` is what the planner says: the
// sentence is rebuilt from planService's counts and predicted p99, and the warning from its warnings.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planService } from '../../src/core/plan.ts';
import { serviceModelFromSpec } from '../../src/input/load.ts';

const doc = readFileSync(fileURLToPath(new URL('../../docs/controller.md', import.meta.url)), 'utf8').replace(
  /\s+/g,
  ' ',
);

function plan(rps: number, concurrency: number, loadBalancing?: 'leastRequests' | 'random') {
  return planService(
    serviceModelFromSpec({
      name: 'web',
      demand: { rps },
      instance: { serviceTimeMs: 20, concurrency, serviceTimeCv: 1 },
      ...(loadBalancing ? { loadBalancing } : {}),
      slo: { latencyMs: 200, percentile: 99 },
    }),
  );
}

describe('docs/controller.md: which balancer the model assumes', () => {
  it('the example counts, p99s and warning are the planner’s', () => {
    const pooled = plan(110, 1, 'leastRequests');
    const random = plan(110, 1, 'random');
    const ms = (p: ReturnType<typeof plan>): number => Math.round(p.predicted.latencyMs!);
    expect(doc).toContain(
      `\`leastRequests\` sizes ${pooled.replicas} pods (p99 ${ms(pooled)} ms), \`random\` ${random.replicas} (${ms(random)} ms)`,
    );
    expect(random.replicas).toBeGreaterThan(pooled.replicas);
    const four = [plan(1000, 4, 'leastRequests').replicas, plan(1000, 4, 'random').replicas];
    expect(four[0]).toBe(four[1]);
    expect(doc).toContain(`at 4 slots and 1,000 rps both size ${four[0]}`);
    const warning = random.warnings.find((w) => w.startsWith('random load balancing needs'));
    expect(warning).toBeDefined();
    expect(doc).toContain(`(\`${warning}\`)`);
  });

  it('left unstated, leastRequests is assumed and the plan says what random would need', () => {
    const unstated = plan(110, 1);
    expect(unstated.replicas).toBe(plan(110, 1, 'leastRequests').replicas);
    const warning = unstated.warnings.find((w) => w.startsWith('load balancing not given'));
    expect(warning).toContain(`it would need ${plan(110, 1, 'random').replicas}: set service.loadBalancing`);
    expect(doc).toContain(`(\`${warning}\`)`);
    // Stated, it is the user's choice: no such warning.
    expect(plan(110, 1, 'leastRequests').warnings.some((w) => w.startsWith('load balancing not given'))).toBe(false);
    // At 4 slots both need the same: nothing to say.
    expect(plan(1000, 4).warnings.some((w) => w.startsWith('load balancing not given'))).toBe(false);
  });
});
