import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import type { ServiceModel } from '../../src/core/model.ts';
import { holdsAtBalancer } from '../../src/local/cluster.ts';
import { loadRunConfig } from '../../src/local/config.ts';
import { profileStep } from '../support/profile.ts';

const dir = mkdtempSync(join(tmpdir(), 'headroom-run-'));
const SERVICE = `services:
  - name: web
    instance: { serviceTimeMs: 20, concurrency: 2, cpu: 250m, memory: 64Mi }
`;

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function problemsOf(path: string) {
  try {
    loadRunConfig(path);
  } catch (e) {
    expect(e).toBeInstanceOf(HeadroomError);
    return (e as HeadroomError).problems;
  }
  throw new Error('expected an error');
}

describe('run.service on a graph member with calls or an end-to-end SLO is refused (the whole graph runs without run.service)', () => {
  it('an end-to-end SLO or calls: HR_SPEC_INVALID naming the field, not a run without the SLO', () => {
    const graph = `services:
  - name: gw
    demand: { rps: 100 }
    instance: { serviceTimeMs: 10, concurrency: 1 }
    slo: { latencyMs: 100, percentile: 99, scope: endToEnd }
    calls: [{ service: db, perRequest: 2 }]
  - name: db
    instance: { serviceTimeMs: 5, concurrency: 1 }
run: { command: [./svc], service: SVC }
`;
    expect(problemsOf(file('g1.yaml', graph.replace('SVC', 'gw')))).toMatchObject([
      { code: 'HR_SPEC_INVALID', path: 'services[0].slo.scope' },
    ]);
    expect(problemsOf(file('g2.yaml', graph.replace('SVC', 'gw').replace(', scope: endToEnd', '')))).toMatchObject([
      { code: 'HR_SPEC_INVALID', path: 'services[0].calls' },
    ]);
    // The callee alone (no calls, its demand from the graph) still runs.
    expect(loadRunConfig(file('g3.yaml', graph.replace('SVC', 'db'))).model.name).toBe('db');
  });
});

describe('run: section', () => {
  it('the shipped example parses, with `node` mapped to the running Node.js and cwd to its folder', () => {
    const example = fileURLToPath(new URL('../../examples/run.yaml', import.meta.url));
    const cfg = loadRunConfig(example);
    expect(cfg.model.name).toBe('web');
    expect(cfg.run.command[0]).toBe(process.execPath);
    expect(cfg.run.cwd).toBe(fileURLToPath(new URL('../../examples', import.meta.url)));
    expect(cfg.run.tickSeconds).toBeLessThanOrEqual(1);
    expect(cfg.model.behavior.scaleDown.stabilizationSeconds).toBe(15);
    expect(cfg.capacitySource).toBe('spec');
  });

  it('fills defaults', () => {
    const cfg = loadRunConfig(file('min.yaml', `${SERVICE}run: { command: [./svc, --flag] }\n`));
    expect(cfg.run).toMatchObject({
      command: ['./svc', '--flag'],
      healthPath: '/healthz',
      host: '127.0.0.1',
      port: 8080,
      statusPort: 9470,
      tickSeconds: 1,
      shadow: false,
      stableWindowSeconds: 60,
      calibrate: true,
      calibrateHalfLifeSeconds: 60,
    });
    // The spec leaves loadBalancing unsaid, but under `headroom run` nothing is assumed: requests go
    // through its own balancer (plan's "load balancing not given" warning is for other balancers).
    expect(cfg.model.loadBalancing).toBe('leastRequests');
    expect(cfg.model.loadBalancingAssumed).toBeUndefined();
    const bad = problemsOf(file('hl.yaml', `${SERVICE}run: { command: [x], calibrateHalfLifeSeconds: 0 }\n`));
    expect(bad[0]).toMatchObject({ path: 'run.calibrateHalfLifeSeconds', value: 0, allowed: '>= 1' });
  });

  it('env values may be numbers; they become strings', () => {
    const cfg = loadRunConfig(file('env.yaml', `${SERVICE}run: { command: [x], env: { WORK_MS: 50, DEBUG: true } }\n`));
    expect(cfg.run.env).toEqual({ WORK_MS: '50', DEBUG: 'true' });
  });

  it('names file, key, value and allowed range', () => {
    const p = file(
      'bad.yaml',
      `${SERVICE}run: { command: [x], port: 70000, tickSeconds: 5, healthPath: healthz, colour: red }\n`,
    );
    const problems = problemsOf(p);
    const byPath = Object.fromEntries(problems.map((q) => [q.path, q]));
    expect(byPath['run.port']).toMatchObject({ code: 'HR_SPEC_INVALID', file: p, value: 70000, allowed: '<= 65535' });
    expect(byPath['run.tickSeconds']).toMatchObject({ value: 5, allowed: '<= 1' });
    expect(byPath['run.healthPath']?.value).toBe('healthz');
    expect(problems.some((q) => q.message.includes('colour'))).toBe(true);
  });

  it('a missing run section or command is an error', () => {
    expect(problemsOf(file('none.yaml', SERVICE))[0]).toMatchObject({ path: 'run', code: 'HR_SPEC_INVALID' });
    expect(problemsOf(file('nocmd.yaml', `${SERVICE}run: { port: 1 }\n`))[0]).toMatchObject({ path: 'run.command' });
  });

  it('several services need run.service naming one of them', () => {
    const two = `${SERVICE}  - name: api\n    instance: { serviceTimeMs: 10 }\n`;
    expect(problemsOf(file('two.yaml', `${two}run: { command: [x] }\n`))[0]).toMatchObject({
      path: 'run.service',
      allowed: 'one of web, api',
    });
    expect(problemsOf(file('two-bad.yaml', `${two}run: { command: [x], service: db }\n`))[0]).toMatchObject({
      path: 'run.service',
      value: 'db',
    });
    expect(loadRunConfig(file('two-ok.yaml', `${two}run: { command: [x], service: api }\n`)).model.name).toBe('api');
  });

  it('run.queue: the balancer holds requests with leastRequests, never with random (it has no queue)', () => {
    const random = `${SERVICE}run: { command: [x], loadBalancing: random, queue: balancer }\n`;
    expect(problemsOf(file('queue-random.yaml', random))[0]).toMatchObject({
      code: 'HR_SPEC_INVALID',
      path: 'run.queue',
      value: 'balancer',
      allowed: 'instances, or loadBalancing: leastRequests',
    });
    const load = (name: string, text: string) => {
      const cfg = loadRunConfig(file(name, text));
      return { queue: cfg.run.queue, holds: holdsAtBalancer(cfg.model, cfg.run) };
    };
    // The default: held when the spec states the concurrency and balances leastRequests.
    expect(load('q-default.yaml', `${SERVICE}run: { command: [x] }\n`)).toEqual({ queue: 'balancer', holds: true });
    expect(load('q-inst.yaml', `${SERVICE}run: { command: [x], queue: instances }\n`)).toEqual({
      queue: 'instances',
      holds: false,
    });
    expect(load('q-random.yaml', `${SERVICE}run: { command: [x], loadBalancing: random }\n`)).toEqual({
      queue: 'instances',
      holds: false,
    });
    // No concurrency written: 1 is the model's assumption, not a limit to impose; asked for, it is one.
    const unstated = 'services:\n  - name: web\n    instance: { serviceTimeMs: 20 }\n';
    expect(load('q-unstated.yaml', `${unstated}run: { command: [x] }\n`)).toEqual({ queue: 'instances', holds: false });
    expect(load('q-asked.yaml', `${unstated}run: { command: [x], queue: balancer }\n`)).toEqual({
      queue: 'balancer',
      holds: true,
    });
    // A profile's c is a limit when the load test reached the instance's throughput ceiling (c =
    // ceiling × service time); inferred from how latency grew, or assumed from one step, it is not.
    const profile = (fitMethod: string | undefined, lastAchieved: number): string =>
      JSON.stringify({
        kind: 'headroom.dev/capacity-profile/v1',
        target: 'http://127.0.0.1:8080/',
        measuredAt: '2026-12-04T00:00:00Z',
        slo: { latencyMs: 50, percentile: 99 },
        kneeRps: 200,
        kneeIsLowerBound: false,
        serviceTimeMs: 20,
        concurrency: 4,
        ...(fitMethod ? { fitMethod } : {}),
        steps: [profileStep(200, true), profileStep(300, false, lastAchieved)],
      });
    const withProfile = (name: string, json: string) => {
      writeFileSync(join(dir, `${name}.json`), json);
      const text = `services:\n  - name: web\n    instance: { profile: ${name}.json }\nrun: { command: [x] }\n`;
      return load(`${name}.yaml`, text).queue;
    };
    expect(withProfile('saturated', profile('saturation', 200))).toBe('balancer');
    expect(withProfile('curve', profile('curve', 300))).toBe('instances');
    expect(withProfile('one-step', profile('single-step', 300))).toBe('instances');
    // Written before fitMethod: from the steps (300 asked, 200 delivered: < 90 %, saturated).
    expect(withProfile('old-saturated', profile(undefined, 200))).toBe('balancer');
    expect(withProfile('old-curve', profile(undefined, 290))).toBe('instances');

    // A service that calls others keeps its requests in flight through the calls, its slot released.
    const cfg = loadRunConfig(file('q-caller.yaml', `${SERVICE}run: { command: [x] }\n`));
    const caller: ServiceModel = { ...cfg.model, calls: [{ service: 'db', perRequest: 1, mode: 'sequential' }] };
    expect(holdsAtBalancer(caller, cfg.run)).toBe(false);
  });

  it('the same port twice is an error', () => {
    expect(
      problemsOf(file('ports.yaml', `${SERVICE}run: { command: [x], port: 8000, statusPort: 8000 }\n`))[0],
    ).toMatchObject({
      path: 'run.statusPort',
      value: 8000,
    });
  });

  it('initialReplicas above replicas.max is refused, not silently started as the max', () => {
    const p = problemsOf(file('init.yaml', `${SERVICE}run: { command: [x], initialReplicas: 500 }\n`))[0];
    expect(p).toMatchObject({ path: 'run.initialReplicas', value: 500 });
    expect(p?.message).toMatch(/^above the service's replicas.max \(\d+\)$/);
  });

  it('a restart backoff whose initial is above the default max blames the key written, not the default', () => {
    const written = problemsOf(
      file('bo1.yaml', `${SERVICE}run: { command: [x], restartBackoff: { initialSeconds: 60, maxSeconds: 10 } }\n`),
    )[0];
    expect(written).toMatchObject({ path: 'run.restartBackoff.maxSeconds', value: 10, allowed: '>= 60' });
    const defaulted = problemsOf(
      file('bo2.yaml', `${SERVICE}run: { command: [x], restartBackoff: { initialSeconds: 60 } }\n`),
    )[0];
    expect(defaulted).toMatchObject({ path: 'run.restartBackoff.initialSeconds', value: 60, allowed: '<= 30' });
    expect(defaulted?.message).toContain('not given: 30 s by default');
  });

  it('takes the spec’s alerts: section (validated the same way), or the default rules without one', () => {
    const plain = loadRunConfig(file('plain.yaml', `${SERVICE}run: { command: [x] }\n`));
    expect(plain.alerts.rules.length).toBeGreaterThan(0);
    expect(plain.alerts.receivers).toEqual([]);
    const custom = loadRunConfig(
      file(
        'alerts.yaml',
        `${SERVICE}run: { command: [x], token: abc }\nalerts:\n  defaults: false\n  rules: [{ name: Few, metric: service.ready, op: '<', threshold: 2 }]\n`,
      ),
    );
    expect(custom.alerts.rules.map((r) => r.name)).toEqual(['Few']);
    expect(custom.run.token).toBe('abc');
    const bad = problemsOf(
      file('bad-alerts.yaml', `${SERVICE}run: { command: [x] }\nalerts: { rules: [{ name: X }] }\n`),
    );
    expect(bad[0]?.file).toContain('bad-alerts.yaml');
    expect(bad[0]?.path).toMatch(/^alerts\.rules/);
  });
});
