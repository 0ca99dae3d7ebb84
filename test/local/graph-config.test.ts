// The `run:` section of a call graph (src/local/graph-config.ts): every member gets its own run
// section from the shared defaults and run.services; every problem is reported together.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import { holdsAtBalancer } from '../../src/local/cluster.ts';
import { loadRunOrGraph } from '../../src/local/graph-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'headroom-graph-run-'));
const GRAPH = `services:
  - name: gw
    demand: { rps: 10 }
    instance: { serviceTimeMs: 10, concurrency: 1 }
    slo: { latencyMs: 300, percentile: 99, scope: endToEnd }
    calls: [{ service: db, perRequest: 2 }]
  - name: db
    instance: { serviceTimeMs: 5, concurrency: 1 }
  - name: unrelated
    instance: { serviceTimeMs: 5, concurrency: 1 }
`;

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('run: section of a call graph', () => {
  it('examples/graph-run.yaml: every member the entry reaches, callees first, env over the shared defaults', () => {
    const r = loadRunOrGraph(fileURLToPath(new URL('../../examples/graph-run.yaml', import.meta.url)));
    expect(r.kind).toBe('graph');
    if (r.kind !== 'graph') return;
    expect(r.cfg.entry).toBe('gateway');
    expect(r.cfg.models.map((m) => m.name)).toEqual(['db', 'cart', 'search', 'gateway']);
    // Unsaid in the spec, but each member's balancer is Headroom's own: nothing assumed.
    expect(r.cfg.models.every((m) => m.loadBalancingAssumed === undefined)).toBe(true);
    const gw = r.cfg.members.get('gateway')!;
    expect(gw.env).toMatchObject({ WORK_MODE: 'sleep', WORK_DIST: 'exponential', WORK_MS: '40', CONCURRENCY: '2' });
    expect([gw.port, gw.statusPort]).toEqual([8080, 9470]);
    const db = r.cfg.members.get('db')!;
    expect([db.port, db.statusPort, db.host]).toEqual([0, 0, '127.0.0.1']);
    expect(db.command[0]).toBe(process.execPath);
    // A caller's balancer measures its calls too: only members without calls calibrate.
    expect([gw.calibrate, db.calibrate]).toEqual([false, true]);
    // A leaf holds requests at its balancer for a free slot; a caller sends at once (its requests stay
    // in flight through their calls, the slot released).
    const modelOf = (n: string) => r.cfg.models.find((m) => m.name === n)!;
    expect([holdsAtBalancer(modelOf('gateway'), gw), holdsAtBalancer(modelOf('db'), db)]).toEqual([false, true]);
  });

  it('members not reached from the entry are not run; run.service still runs one service alone', () => {
    const r = loadRunOrGraph(file('ok.yaml', `${GRAPH}run: { command: [./svc], services: { db: { port: 8090 } } }\n`));
    if (r.kind !== 'graph') throw new Error('expected a graph');
    expect(r.cfg.models.map((m) => m.name)).toEqual(['db', 'gw']);
    expect(r.cfg.members.get('db')!.port).toBe(8090);
    const one = loadRunOrGraph(file('one.yaml', `${GRAPH}run: { command: [./svc], service: db }\n`));
    expect(one.kind).toBe('service');
  });

  it('every problem at once, each naming its key and value: HR_SPEC_INVALID', () => {
    const bad = `${GRAPH}run:
  command: [./svc]
  capacity: learned
  env: { CALLS: x }
  statusPort: 8090
  services:
    gw: { port: 9000 }
    nope: {}
    db: { port: 8090, env: { WORK_MS: 5 } }
`;
    let problems: HeadroomError['problems'] = [];
    try {
      loadRunOrGraph(file('bad.yaml', bad));
    } catch (e) {
      expect(e).toBeInstanceOf(HeadroomError);
      problems = (e as HeadroomError).problems;
    }
    expect(problems.map((p) => [p.code, p.path]).sort()).toEqual(
      [
        ['HR_SPEC_INVALID', 'run.capacity'],
        ['HR_SPEC_INVALID', 'run.env.CALLS'],
        ['HR_SPEC_INVALID', 'run.services.db.port'],
        ['HR_SPEC_INVALID', 'run.services.gw.port'],
        ['HR_SPEC_INVALID', 'run.services.nope'],
      ].sort(),
    );
    expect(problems.find((p) => p.path === 'run.services.nope')?.allowed).toBe('one of db, gw');
  });

  it('zod problems of run.services are reported with their path', () => {
    try {
      loadRunOrGraph(file('zod.yaml', `${GRAPH}run: { command: [./svc], services: { db: { port: -1, what: 1 } } }\n`));
      throw new Error('expected an error');
    } catch (e) {
      const paths = (e as HeadroomError).problems.map((p) => p.path);
      expect(paths).toContain('run.services.db.port');
      expect(paths.some((p) => p?.startsWith('run.services.db'))).toBe(true);
    }
  });
});
