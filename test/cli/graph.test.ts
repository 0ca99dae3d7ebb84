import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function headroom(input: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('headroom plan on a call graph (the real CLI)', () => {
  it('prints the graph, the end-to-end prediction and the equal split', () => {
    const r = headroom('', 'plan', 'examples/graph.yaml');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/call graph from gateway: end-to-end p99 ≤ 200 ms, predicted [\d.]+ ms \(meets it\)/);
    expect(r.stdout).toMatch(/an equal split \(every service p99 ≤ [\d.]+ ms\) would need \d+ instances/);
    expect(r.stdout).toContain('endToEnd');
  });

  it('--json adds graph: { entry, sloMs, predictedMs, services: [{ name, budgetMs, demandRps }] }', () => {
    const r = headroom('', 'plan', 'examples/graph.yaml', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      services: Array<{ name: string; replicas: number }>;
      graph: {
        entry: string;
        sloMs: number;
        predictedMs: number;
        feasible: boolean;
        total: number;
        services: Array<{ name: string; budgetMs: number; demandRps: number; replicas: number }>;
        equalSplit: { total: number } | null;
      };
    };
    expect(out.graph.entry).toBe('gateway');
    expect(out.graph.sloMs).toBe(200);
    expect(out.graph.predictedMs).toBeLessThanOrEqual(200);
    expect(out.graph.feasible).toBe(true);
    expect(out.graph.services.map((s) => s.name).sort()).toEqual(['cart', 'db', 'gateway', 'search']);
    const db = out.graph.services.find((s) => s.name === 'db');
    expect(db?.demandRps).toBe(2750);
    // The service table and the graph agree on every count.
    for (const s of out.graph.services) {
      expect(out.services.find((x) => x.name === s.name)?.replicas).toBe(s.replicas);
      expect(s.budgetMs).toBeGreaterThan(0);
    }
    expect(out.graph.equalSplit?.total).toBeGreaterThan(out.graph.total);
  });

  it('a cycle: HR_GRAPH_CYCLE naming the edge, exit 2, nothing on stdout', () => {
    const r = headroom(
      `services:
  - name: a
    demand: { rps: 1 }
    instance: { serviceTimeMs: 5 }
    calls: [{ service: b, perRequest: 1 }]
  - name: b
    instance: { serviceTimeMs: 5 }
    calls: [{ service: a, perRequest: 1 }]
`,
      'plan',
      '-',
    );
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('HR_GRAPH_CYCLE');
    expect(r.stderr).toContain('b → a closes a cycle a → b → a');
  });
});
