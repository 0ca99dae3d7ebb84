// `headroom import hpa` from files: goldens of the real CLI on real HPA shapes, every output parsed
// by the controller's own policy code, and the errors (codes, nothing half-written).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildModel, demandQueries, type HeadroomPolicy } from '../../src/controller/policy.ts';
import { conflictOf } from '../../src/controller/conflict.ts';
import { HeadroomError } from '../../src/core/errors.ts';
import { importHpas } from '../../src/import/hpa.ts';
import { PROFILE_KIND } from '../../src/input/profile.ts';
import { expectGolden } from '../support/golden.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string => `test/import/fixtures/${name}`;
const FIXTURES = ['v2-behavior', 'v1-cpu', 'external', 'list'] as const;

function headroom(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A capacity profile as `headroom loadtest` writes it: what the ConfigMap the policy names holds. */
const PROFILE = JSON.stringify({
  kind: PROFILE_KIND,
  target: 'http://checkout/',
  measuredAt: '2026-12-01T00:00:00Z',
  slo: { latencyMs: 200, percentile: 99 },
  kneeRps: 150,
  serviceTimeMs: 20,
  concurrency: 4,
  steps: [],
});

const golden = (name: string): string => readFileSync(`${root}test/import/golden/${name}.yaml`, 'utf8');

function policiesOf(yaml: string): HeadroomPolicy[] {
  const docs = parseAllDocuments(yaml);
  if (!Array.isArray(docs)) throw new Error('no documents');
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as HeadroomPolicy);
}

function problemsOf(fn: () => unknown): HeadroomError['problems'] {
  try {
    fn();
  } catch (err) {
    if (err instanceof HeadroomError) return err.problems;
    throw err;
  }
  throw new Error('no error');
}

describe('headroom import hpa -f (goldens)', () => {
  for (const name of FIXTURES) {
    it(`${name}.yaml → the committed policies (stdout), exit 0`, () => {
      const r = headroom(['import', 'hpa', '-f', fixture(`${name}.yaml`)]);
      expect(r.stderr).not.toMatch(/HR_(?!HPA_UNMAPPED)/);
      expect(r.status).toBe(0);
      expectGolden(`${root}test/import/golden/${name}.yaml`, r.stdout);
    });
  }

  it('stderr names every unmapped metric per HPA and what to fill in (golden)', () => {
    const r = headroom(['import', 'hpa', '-f', fixture('v2-behavior.yaml')]);
    expectGolden(`${root}test/import/golden/v2-behavior.stderr.txt`, r.stderr);
    // memory, a Pods metric and an Object metric: three lines, each naming the HPA and the metric.
    const unmapped = r.stderr.split('\n').filter((l) => l.includes('HR_HPA_UNMAPPED'));
    expect(unmapped).toHaveLength(3);
    for (const l of unmapped) expect(l).toContain('shop/checkout');
    expect(unmapped.join('\n')).toMatch(
      /memory.*\n.*packets-per-second.*\n.*requests-per-second of Ingress main-route/,
    );
    expect(r.stderr).toMatch(/capacity of one instance: ConfigMap checkout-capacity/);
    expect(r.stderr).toMatch(/latency SLO: service\.slo/);
  });

  it('reads the same HPAs as JSON, from stdin, and several files at once', () => {
    const v1 = readFileSync(`${root}${fixture('v1-cpu.yaml')}`, 'utf8');
    const fromYaml = headroom(['import', 'hpa', '-f', fixture('v1-cpu.yaml')]).stdout;
    const obj = parseAllDocuments(v1);
    const dir = mkdtempSync(join(tmpdir(), 'hr-import-'));
    writeFileSync(join(dir, 'v1.json'), JSON.stringify(Array.isArray(obj) ? obj[0]?.toJS() : null));
    expect(headroom(['import', 'hpa', '-f', join(dir, 'v1.json')]).stdout).toBe(fromYaml);
    expect(headroom(['import', 'hpa', '-f', '-'], v1).stdout).toBe(fromYaml);
    const both = headroom(['import', 'hpa', '-f', fixture('v1-cpu.yaml'), '-f', fixture('external.yaml')]);
    expect(both.status).toBe(0);
    expect(policiesOf(both.stdout).map((p) => p.metadata.name)).toEqual(['web', 'worker']);
    // Names pick HPAs out of the files.
    const picked = headroom(['import', 'hpa', 'search', '-f', fixture('list.yaml')]);
    expect(policiesOf(picked.stdout).map((p) => p.metadata.name)).toEqual(['search']);
  });
});

describe('docs/controller.md, "Moving from the HPA"', () => {
  const doc = readFileSync(`${root}docs/controller.md`, 'utf8');
  const section = doc.slice(doc.indexOf('## Moving from the HPA'), doc.indexOf('\n## Status\n'));
  const blocks = [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => m[2] ?? '');

  it('shows examples/k8s/hpa.yaml and exactly what the import prints for it (stdout and stderr)', () => {
    const hpa = readFileSync(`${root}examples/k8s/hpa.yaml`, 'utf8');
    expect(blocks).toContain(hpa.slice(hpa.indexOf('apiVersion:')));
    const cmd = 'npm run -s headroom -- import hpa -n shop -f examples/k8s/hpa.yaml';
    expect(section).toContain(cmd);
    const r = headroom(['import', 'hpa', '-n', 'shop', '-f', 'examples/k8s/hpa.yaml']);
    expect(r.status).toBe(0);
    expect(blocks).toContain(r.stdout);
    expect(blocks).toContain(r.stderr);
  });
});

describe('round trip: every generated policy passes the controller’s parser', () => {
  for (const name of FIXTURES) {
    it(`${name}.yaml`, () => {
      // The goldens are the CLI's output (checked above), so parsing them parses what it printed.
      const policies = policiesOf(golden(name));
      expect(policies.length).toBeGreaterThan(0);
      for (const p of policies) {
        expect(p.kind).toBe('HeadroomPolicy');
        expect(p.spec.mode).toBe('shadow');
        // The controller's code: the model (with the profile the ConfigMap will hold) and the queries.
        const model = buildModel(p, PROFILE);
        expect(model.instance).toMatchObject({ serviceTimeMs: 20, concurrency: 4 });
        expect(demandQueries(p.spec).demand).toMatch(/^sum\(rate\(http_requests_total\{.*pod=~".*"\}\[1m\]\)\)$/);
        // Without the ConfigMap the controller says so (InvalidPolicy), it does not guess a capacity.
        expect(problemsOf(() => buildModel(p)).map((x) => x.message)).toEqual(['the ConfigMap or key does not exist']);
        // A shadow policy never conflicts with the HPA it came from.
        const hpa = {
          metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
          spec: { scaleTargetRef: p.spec.scaleTargetRef },
        };
        expect(conflictOf(p, [p], [hpa])).toBeUndefined();
        expect(conflictOf({ ...p, spec: { ...p.spec, mode: 'active' } }, [], [hpa])?.by).toBe(
          'HorizontalPodAutoscaler',
        );
      }
    });
  }

  it('maps the v2 fields faithfully: replicas, CPU target, behavior as given', () => {
    const [p] = policiesOf(golden('v2-behavior'));
    const m = buildModel(p as HeadroomPolicy, PROFILE);
    expect(m.replicas).toEqual({ min: 3, max: 30 });
    expect(m.targetUtilization).toBe(0.6);
    expect(m.behavior.scaleDown).toEqual({
      stabilizationSeconds: 600,
      select: 'min',
      policies: [
        { type: 'percent', value: 10, periodSeconds: 60 },
        { type: 'pods', value: 5, periodSeconds: 60 },
      ],
    });
    expect(m.behavior.scaleUp).toMatchObject({ stabilizationSeconds: 0, select: 'max' });
    // The HPA's 600-s down window is held in full, quiet phases or not; the forecast stays on, and
    // its first round reads 8 days of the demand's past (the HPA kept none to carry over).
    expect(m.behavior.forecast).toEqual({ enabled: true, quietPhase: false, historySeconds: 8 * 86400 });
    const [, search, site] = policiesOf(golden('list'));
    expect(buildModel(search as HeadroomPolicy, PROFILE).behavior.tolerance).toBe(0.05);
    // No behavior in the HPA: none in the policy, whose defaults are the HPA's.
    expect(site?.spec.service.behavior).toBeUndefined();
    expect(buildModel(site as HeadroomPolicy, PROFILE).behavior.forecast).toEqual({
      enabled: true,
      quietPhase: true,
      historySeconds: 8 * 86400,
    });
    expect(site?.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'static-site' });
  });
});

describe('importHpas (pure)', () => {
  const hpa = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => ({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, ...spec },
    ...extra,
  });

  it('a CPU target above 100 % becomes targetUtilization 1; -n fills a missing namespace', () => {
    const [p] = importHpas([
      {
        object: hpa({
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 150 } } },
          ],
        }),
      },
    ]);
    expect(p?.policy.spec.service.targetUtilization).toBe(1);
    const noNs = {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'a' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'a' }, maxReplicas: 3 },
    };
    expect(importHpas([{ object: noNs }], { namespace: 'team' })[0]?.policy.metadata.namespace).toBe('team');
    const bare = importHpas([{ object: noNs }])[0];
    expect(bare?.policy.metadata.namespace).toBeUndefined();
    expect(bare?.policy.spec.demand.query).toBe('sum(rate(http_requests_total{pod=~"a-[a-z0-9]+-[a-z0-9]+"}[1m]))');
  });

  it('v2beta1 metric spellings: the CPU target maps, the rest is named', () => {
    const [p] = importHpas([
      {
        object: {
          ...(hpa({
            metrics: [
              { type: 'Resource', resource: { name: 'cpu', targetAverageUtilization: 65 } },
              { type: 'External', external: { metricName: 'sqs_depth', targetAverageValue: '5' } },
            ],
          }) as object),
          apiVersion: 'autoscaling/v2beta1',
        },
      },
    ]);
    expect(p?.policy.spec.service.targetUtilization).toBe(0.65);
    expect(p?.unmapped.map((u) => u.message)).toEqual([
      expect.stringMatching(/^shop\/web: External metric sqs_depth \(target AverageValue 5\) is not mapped/),
    ]);
  });

  it('CPU as an amount, a second CPU target and an unknown metric type are named, never dropped', () => {
    const [p] = importHpas([
      {
        object: hpa({
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '500m' } } },
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
            { type: 'Telepathy' },
          ],
        }),
      },
    ]);
    expect(p?.policy.spec.service.targetUtilization).toBe(0.5);
    expect(p?.unmapped.map((u) => u.path)).toEqual(['spec.metrics[0]', 'spec.metrics[2]', 'spec.metrics[3]']);
    expect(p?.unmapped.every((u) => u.code === 'HR_HPA_UNMAPPED')).toBe(true);
  });

  it('bad HPAs: every problem with its code and key, and nothing returned', () => {
    const problems = problemsOf(() =>
      importHpas([
        {
          object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } },
          file: 'a.yaml',
          at: 'line 1',
        },
        { object: hpa({ scaleTargetRef: undefined }), file: 'a.yaml', at: 'line 9' },
        { object: hpa({ maxReplicas: undefined, minReplicas: 2 }), file: 'a.yaml', at: 'line 20' },
        { object: hpa({ minReplicas: 9 }), file: 'a.yaml', at: 'line 30' },
        { object: hpa({ scaleTargetRef: { kind: 'Rollout', name: 'r' } }), file: 'a.yaml', at: 'line 40' },
        { object: hpa({ behavior: { scaleUp: { policies: [{ type: 'Pods', value: 0, periodSeconds: 15 }] } } }) },
        { object: 'hunter2' },
        // A 0 % or negative CPU target is a mistake to name, not "no target" to replace by 80 %.
        {
          object: hpa({
            metrics: [
              { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: -20 } } },
            ],
          }),
        },
      ]),
    );
    expect(problems.map((p) => [p.code, p.path])).toEqual([
      ['HR_NOT_HPA', 'line 1'],
      ['HR_HPA_INVALID', 'line 9: spec.scaleTargetRef'],
      ['HR_HPA_INVALID', 'line 20: spec.maxReplicas'],
      ['HR_HPA_INVALID', 'line 30: spec.minReplicas'],
      ['HR_HPA_INVALID', 'line 40: spec.scaleTargetRef.apiVersion'],
      ['HR_HPA_INVALID', 'spec.behavior.scaleUp.policies[0].value'],
      ['HR_NOT_HPA', undefined],
      ['HR_HPA_INVALID', 'spec.metrics[0].resource.target.averageUtilization'],
    ]);
    // The value of something that is not a manifest is never shown.
    expect(JSON.stringify(problems)).not.toContain('hunter2');
  });

  it('two HPAs of one namespace and name are refused (their policies would overwrite each other)', () => {
    expect(problemsOf(() => importHpas([{ object: hpa({}) }, { object: hpa({}) }])).map((p) => p.code)).toEqual([
      'HR_DUPLICATE_NAME',
    ]);
  });
});

describe('headroom import hpa: errors and -o DIR', () => {
  it('bad input: a stable code, exit 2, nothing on stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-import-'));
    const notHpa = join(dir, 'deploy.yaml');
    writeFileSync(
      notHpa,
      `${readFileSync(`${root}${fixture('v1-cpu.yaml')}`, 'utf8')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n`,
    );
    const cases: [string[], string, RegExp][] = [
      [['-f', notHpa], 'HR_NOT_HPA', /deploy\.yaml: line 16: not a HorizontalPodAutoscaler: apps\/v1 Deployment/],
      [['-f', join(dir, 'missing.yaml')], 'HR_FILE_READ', /no such file/],
      [['-f', dir], 'HR_FILE_READ', /not a regular file/],
      [['-f', fixture('v1-cpu.yaml'), 'nope'], 'HR_HPA_NOT_FOUND', /no HorizontalPodAutoscaler nope/],
      [['-A', '-n', 'x'], 'HR_USAGE', /not both/],
      [['--kubeconfig', join(dir, 'nope')], 'HR_FILE_READ', /cannot load the kubeconfig/],
    ];
    for (const [args, code, msg] of cases) {
      const r = headroom(['import', 'hpa', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.startsWith(code), r.stderr).toBe(true);
      expect(r.stderr).toMatch(msg);
    }
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: { name: x }\nspec: { maxReplicas: 3 }\n---\nkey: [unclosed\n',
    );
    const r = headroom(['import', 'hpa', '-f', bad]);
    expect(r.stderr).toMatch(/^HR_SPEC_PARSE .*bad\.yaml:\d+:\d+: /);
  });

  it('the apiserver unreachable: HR_KUBE_UNREACHABLE naming the server', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-import-'));
    const kc = join(dir, 'kubeconfig');
    writeFileSync(
      kc,
      'apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n',
    );
    const r = headroom(['import', 'hpa', '--kubeconfig', kc, '-n', 'shop']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^HR_KUBE_UNREACHABLE https:\/\/127\.0\.0\.1:9: GET \/apis\/autoscaling\/v2: .*ECONNREFUSED/,
    );
  });

  it('--strict: an unmapped metric fails, and nothing is written', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hr-import-')), 'out');
    const r = headroom([
      'import',
      'hpa',
      '--strict',
      '-o',
      dir,
      '-f',
      fixture('v1-cpu.yaml'),
      '-f',
      fixture('external.yaml'),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^HR_HPA_UNMAPPED .*external\.yaml:14:7: spec\.metrics\[0\]: jobs\/worker: External metric queue_messages_ready/,
    );
    expect(existsSync(dir)).toBe(false);
    expect(headroom(['import', 'hpa', '--strict', '-f', fixture('v1-cpu.yaml')]).status).toBe(0);
  });

  it('-o DIR: one file per policy; an existing file stops all of them (--force overwrites)', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hr-import-')), 'out');
    const r = headroom(['import', 'hpa', '-o', dir, '-f', fixture('list.yaml')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir).sort()).toEqual(['shop.api.yaml', 'shop.search.yaml', 'web.static-site.yaml']);
    const all = headroom(['import', 'hpa', '-f', fixture('list.yaml')]).stdout;
    expect(readFileSync(join(dir, 'shop.api.yaml'), 'utf8')).toBe(all.split('---\n')[0]);
    // One of three exists: no file is written, none is changed.
    const dir2 = join(mkdtempSync(join(tmpdir(), 'hr-import-')), 'out');
    mkdirSync(dir2);
    writeFileSync(join(dir2, 'shop.search.yaml'), 'mine\n');
    const again = headroom(['import', 'hpa', '-o', dir2, '-f', fixture('list.yaml')]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^HR_FILE_WRITE .*shop\.search\.yaml: exists already: nothing was written/);
    expect(readdirSync(dir2)).toEqual(['shop.search.yaml']);
    expect(readFileSync(join(dir2, 'shop.search.yaml'), 'utf8')).toBe('mine\n');
    expect(headroom(['import', 'hpa', '-o', dir2, '--force', '-f', fixture('list.yaml')]).status).toBe(0);
    expect(readdirSync(dir2)).toHaveLength(3);
    // An invalid HPA among valid ones: nothing is written at all.
    const dir3 = join(mkdtempSync(join(tmpdir(), 'hr-import-')), 'out');
    const bad = join(dir3, '..', 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: { name: x }\nspec: { maxReplicas: 3 }\n',
    );
    const mixed = headroom(['import', 'hpa', '-o', dir3, '-f', fixture('list.yaml'), '-f', bad]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toMatch(/^HR_HPA_INVALID .*bad\.yaml: line 1: spec\.scaleTargetRef: required/);
    expect(existsSync(dir3)).toBe(false);
  });
});
