import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('--html writes the graph as one self-contained page, with the counts of --json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-plan-html-'));
    try {
      const file = join(dir, 'graph.html');
      const r = headroom('', 'plan', 'examples/graph.yaml', '--html', file);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('call graph from gateway');
      const html = readFileSync(file, 'utf8');
      expect(html.startsWith('<!doctype html>')).toBe(true);
      // Nothing loaded from elsewhere: no src= or href= at all (scripts and style are inline).
      expect(html).not.toMatch(/\s(src|href)=/);
      const data = /<script type="application\/json" id="graphs-data">(.*?)<\/script>/s.exec(html)?.[1];
      const views = JSON.parse(data!) as Array<{ entry: string; nodes: Array<{ name: string; replicas: number }> }>;
      const json = JSON.parse(headroom('', 'plan', 'examples/graph.yaml', '--json').stdout) as {
        graph: { entry: string; services: Array<{ name: string; replicas: number }> };
      };
      expect(views).toHaveLength(1);
      expect(views[0]!.entry).toBe(json.graph.entry);
      const counts = (l: Array<{ name: string; replicas: number }>) =>
        Object.fromEntries(l.map((n) => [n.name, n.replicas]));
      expect(counts(views[0]!.nodes)).toEqual(counts(json.graph.services));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--html on a spec without a graph: HR_USAGE naming --html, exit 2, no file, nothing on stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-plan-html-'));
    try {
      const file = join(dir, 'graph.html');
      const r = headroom('', 'plan', 'examples/run.yaml', '--html', file);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('HR_USAGE --html');
      expect(r.stderr).toContain('endToEnd');
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
