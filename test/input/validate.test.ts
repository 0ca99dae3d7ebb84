// The one validation path (src/input/validate.ts, yaml.ts) as each input meets it: a spec, an alerts
// file and a run: section, each with three mistakes, report all three in one HeadroomError, each
// with its code, key path, and the line:column found here by searching the file's text.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { located, zodProblems } from '../../src/input/validate.ts';
import { loadAlertConfig } from '../../src/alerting/config.ts';
import { formatProblem, HeadroomError, type ProblemDetail } from '../../src/core/errors.ts';
import { loadSpecFile, parseSpecText } from '../../src/input/load.ts';
import { loadRunConfig } from '../../src/local/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'headroom-validate-'));

function write(name: string, lines: string[]): { file: string; at: (line: number, token: string) => object } {
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n'));
  // Ground truth: the 1-based column of `token` on that line of the text as written.
  const at = (line: number, token: string): object => {
    const col = (lines[line - 1] ?? '').indexOf(token);
    if (col < 0) throw new Error(`${token} is not on line ${line}`);
    return { line, column: col + 1 };
  };
  return { file, at };
}

function problemsOf(f: () => unknown): ProblemDetail[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HeadroomError);
    return [...(e as HeadroomError).problems];
  }
  throw new Error('expected a HeadroomError');
}

describe('one validation path: every problem together, with line and column', () => {
  it('a spec with three mistakes: all three, each with its code and line:column', () => {
    const { file, at } = write('spec.yaml', [
      'services:',
      '  - name: api',
      '    instance: { serviceTimeMs: 20, memory: lots }',
      '    replicas:',
      '      min: 9',
      '      max: 3',
      '    availability: { zones: 2, zoneFailures: 2 }',
    ]);
    const ps = problemsOf(() => loadSpecFile(file));
    expect(ps).toHaveLength(3);
    expect(ps).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'HR_QUANTITY', path: 'services[0].instance.memory', ...at(3, 'lots') }),
        expect.objectContaining({ code: 'HR_SPEC_INVALID', path: 'services[0].replicas.min', ...at(5, '9') }),
        expect.objectContaining({
          code: 'HR_AVAILABILITY_IMPOSSIBLE',
          path: 'services[0].availability.zoneFailures',
          ...at(7, '2 }'),
        }),
      ]),
    );
    // As printed: file:line:column, the form editors and terminals open.
    const { line, column } = at(3, 'lots') as { line: number; column: number };
    expect(formatProblem(ps.find((p) => p.code === 'HR_QUANTITY')!)).toMatch(
      new RegExp(`^HR_QUANTITY .*spec\\.yaml:${line}:${column}: services\\[0\\]\\.instance\\.memory: `),
    );
  });

  it("a schema mistake in one service does not hide another service's quantity, min > max or name used twice", () => {
    const { file, at } = write('mixed.yaml', [
      'services:',
      '  - name: a',
      '    instance: { serviceTimeMs: 20, concurrency: 0 }',
      '  - name: a',
      '    instance: { serviceTimeMs: 20, cpu: lots }',
      '    replicas: { min: 5, max: 2 }',
    ]);
    const ps = problemsOf(() => loadSpecFile(file));
    expect(ps.map((p) => `${p.code} ${p.path}`).sort()).toEqual([
      'HR_DUPLICATE_NAME services[1].name',
      'HR_QUANTITY services[1].instance.cpu',
      'HR_SPEC_INVALID services[0].instance.concurrency',
      'HR_SPEC_INVALID services[1].replicas.min',
    ]);
    expect(ps.find((p) => p.code === 'HR_QUANTITY')).toMatchObject(at(5, 'lots'));
  });

  it('a record key that is not allowed (run.env.1BAD) names the key and the form keys take', () => {
    const schema = z.strictObject({ env: z.record(z.string().regex(/^[A-Z_]+$/), z.string()) });
    const [p] = zodProblems(
      schema.safeParse({ env: { '1BAD': 'x' } }).error!,
      { env: { '1BAD': 'x' } },
      { path: 'run' },
    );
    expect(p).toMatchObject({
      path: 'run.env.1BAD',
      message: 'not an allowed key',
      value: '1BAD',
      allowed: 'a key matching /^[A-Z_]+$/',
    });
  });

  it('schema mistakes too: a typo, a wrong type, a value out of range', () => {
    const { file, at } = write('schema.yaml', [
      'services:',
      '  - name: api',
      '    demnad: { rps: 5 }',
      '    instance: { serviceTimeMs: fast, concurrency: 0 }',
    ]);
    const ps = problemsOf(() => loadSpecFile(file));
    expect(ps).toHaveLength(3);
    expect(ps).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'HR_SPEC_INVALID', path: 'services[0].demnad', ...at(3, 'demnad') }),
        expect.objectContaining({ path: 'services[0].instance.serviceTimeMs', ...at(4, 'fast') }),
        expect.objectContaining({ path: 'services[0].instance.concurrency', ...at(4, '0 }') }),
      ]),
    );
  });

  it('a required key left out points at the map that lacks it; a .json spec is located too', () => {
    const yaml = problemsOf(() =>
      parseSpecText('services:\n  - name: api\n    instance: { concurrency: 2 }\n', 'a.yaml'),
    );
    expect(yaml[0]).toMatchObject({ path: 'services[0].instance.serviceTimeMs', line: 3, column: 5 });
    const json = '{\n  "services": [\n    { "name": "api", "instance": { "serviceTimeMs": -1 } }\n  ]\n}\n';
    const ps = problemsOf(() => parseSpecText(json, 'a.json'));
    expect(ps[0]).toMatchObject({ path: 'services[0].instance.serviceTimeMs', line: 3 });
    expect(ps[0]?.column).toBe((json.split('\n')[2] ?? '').indexOf('-1') + 1);
  });

  it('an alerts file with three mistakes: rule, receiver and an inline secret, all with line:column', () => {
    const { file, at } = write('alerts.yaml', [
      'alerts:',
      '  rules:',
      '    - { name: Hot, metric: instance.cpuUtilization, op: "~", threshold: 0.9 }',
      '  receivers:',
      '    - name: hook',
      '      webhook: { url: "ftp://127.0.0.1/x" }',
      '    - name: mail',
      '      email: { to: a@b.c, from: h@b.c, smarthost: "127.0.0.1:25", password: "s3cret-xyz" }',
    ]);
    const ps = problemsOf(() => loadAlertConfig(file));
    expect(ps).toHaveLength(3);
    expect(ps).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'HR_ALERT_RULE_INVALID', path: 'alerts.rules[0].op', ...at(3, '"~"') }),
        expect.objectContaining({
          code: 'HR_ALERT_ROUTE_INVALID',
          path: 'alerts.receivers[0].webhook.url',
          ...at(6, '"ftp'),
        }),
        expect.objectContaining({
          code: 'HR_ALERT_SECRET',
          path: 'alerts.receivers[1].email.password',
          ...at(8, '"s3cret'),
        }),
      ]),
    );
    expect(JSON.stringify(ps)).not.toContain('s3cret-xyz');
  });

  it('a run: section with three mistakes: all three, with line:column', () => {
    const { file, at } = write('run.yaml', [
      'services:',
      '  - name: web',
      '    instance: { serviceTimeMs: 20 }',
      'run:',
      '  command: [./svc]',
      '  service: nope',
      '  port: 9000',
      '  statusPort: 9000',
      '  restartBackoff: { initialSeconds: 5, maxSeconds: 1 }',
    ]);
    const ps = problemsOf(() => loadRunConfig(file));
    expect(ps).toHaveLength(3);
    expect(ps).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'HR_SPEC_INVALID', path: 'run.service', ...at(6, 'nope') }),
        expect.objectContaining({ code: 'HR_SPEC_INVALID', path: 'run.statusPort', ...at(8, '9000') }),
        expect.objectContaining({
          code: 'HR_SPEC_INVALID',
          path: 'run.restartBackoff.maxSeconds',
          ...at(9, '1 }'),
        }),
      ]),
    );
  });

  it('run: reports the spec, run: and alerts: problems in one error', () => {
    const { file, at } = write('all.yaml', [
      'services:',
      '  - name: web',
      '    instance: { serviceTimeMs: 20, cpu: lots }',
      'run: { command: [./svc], tickSeconds: 5 }',
      'alerts:',
      '  rules: [{ name: X, expr: "nonsense" }]',
    ]);
    const ps = problemsOf(() => loadRunConfig(file));
    expect(ps).toEqual([
      expect.objectContaining({ code: 'HR_QUANTITY', path: 'services[0].instance.cpu', ...at(3, 'lots') }),
      expect.objectContaining({ code: 'HR_SPEC_INVALID', path: 'run.tickSeconds', ...at(4, '5 }') }),
      expect.objectContaining({ code: 'HR_ALERT_RULE_INVALID', path: 'alerts.rules[0].expr', ...at(6, '"nonsense"') }),
    ]);
  });

  it('run: a service that failed its checks does not shift which service run: names', () => {
    // a fails (cpu: lots), so only b maps to a model; run.service: a must not be checked as b (a graph).
    const { file } = write('shift.yaml', [
      'services:',
      '  - name: a',
      '    instance: { serviceTimeMs: 5, cpu: lots }',
      '  - name: b',
      '    instance: { serviceTimeMs: 5 }',
      '    calls: [{ service: a, perRequest: 1 }]',
      'run: { command: [./svc], service: a }',
    ]);
    expect(problemsOf(() => loadRunConfig(file))).toEqual([
      expect.objectContaining({ code: 'HR_QUANTITY', path: 'services[0].instance.cpu', line: 3 }),
    ]);
  });
});

describe('the order problems are listed in', () => {
  it('each file in the order it first appears, by line and column within it, unplaced ones last', () => {
    const p = (tag: string, file: string, line?: number): ProblemDetail => ({
      code: 'HR_SPEC_INVALID',
      file,
      message: tag,
      ...(line === undefined ? {} : { line }),
    });
    const listed = located(
      [p('A', 'a.yaml', 10), p('B', 'p.json', 3), p('C', 'a.yaml', 5), p('D', 'p.json', 1), p('E', 'a.yaml')],
      undefined,
    );
    expect(listed.map((x) => x.message).join('')).toBe('CAEDB');
  });
});
