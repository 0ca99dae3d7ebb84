// Input the schema allows, or that is not a spec at all, ends in a coded error — never a crash,
// a hang, a heap abort, or the file's contents on the terminal.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HeadroomError, formatProblem, type ProblemDetail } from '../../src/core/errors.ts';
import { MAX_CLUSTER_NODES } from '../../src/input/cluster.ts';
import { loadSpecFile, parseSpecText } from '../../src/input/load.ts';
import { readInputFile, SPEC_MAX_BYTES } from '../../src/input/read.ts';

const dir = mkdtempSync(join(tmpdir(), 'headroom-hostile-'));

function problemsOf(f: () => unknown): ProblemDetail[] {
  try {
    f();
  } catch (err) {
    if (err instanceof HeadroomError) return [...err.problems];
    throw err;
  }
  return expect.unreachable('expected a HeadroomError') as never;
}

const svc = `services:\n  - name: api\n    instance: { serviceTimeMs: 20 }\n`;

describe('spec files that are not what they claim', () => {
  it('refuses /dev/zero and a FIFO without reading or blocking', () => {
    expect(problemsOf(() => loadSpecFile('/dev/zero'))[0]).toMatchObject({
      code: 'HR_FILE_READ',
      message: expect.stringContaining('not a regular file'),
    });
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    expect(problemsOf(() => loadSpecFile(fifo))[0]?.code).toBe('HR_FILE_READ');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('stops reading past 16 MiB', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `${svc}# ${'x'.repeat(SPEC_MAX_BYTES)}\n`);
    expect(problemsOf(() => loadSpecFile(big))[0]).toMatchObject({ code: 'HR_INPUT_TOO_LARGE', file: big });
    expect(readInputFile(join(dir, 'big.yaml'), { what: 'x', maxBytes: SPEC_MAX_BYTES * 2 }).length).toBeGreaterThan(
      SPEC_MAX_BYTES,
    );
  });

  it('never prints the contents of a file that is not a spec (a token, /proc/self/environ)', () => {
    const token = join(dir, 'token');
    writeFileSync(token, 'ghp_s3cretTokenValue\n');
    for (const f of [token, '/proc/self/environ']) {
      const ps = problemsOf(() => loadSpecFile(f));
      const text = ps.map(formatProblem).join('\n');
      expect(ps[0]?.code).toMatch(/^HR_SPEC_(INVALID|PARSE)$/);
      expect(text).not.toContain('s3cret');
      expect(text).not.toContain('PATH=');
    }
    const profile = join(dir, 'p.yaml');
    writeFileSync(profile, `${svc.replace('{ serviceTimeMs: 20 }', '{ profile: token }')}`);
    const text = problemsOf(() => loadSpecFile(profile))
      .map(formatProblem)
      .join('\n');
    expect(text).toContain('HR_PROFILE_INVALID');
    expect(text).not.toContain('s3cret');
  });

  it('a .json file is strict JSON: a trailing comma is an error, not accepted as YAML', () => {
    const f = join(dir, 'trailing.json');
    writeFileSync(f, '{"services": [{"name": "api", "instance": {"serviceTimeMs": 20}},]}');
    expect(problemsOf(() => loadSpecFile(f))[0]).toMatchObject({ code: 'HR_SPEC_PARSE', file: f });
    const ok = join(dir, 'ok.json');
    writeFileSync(ok, '{"services": [{"name": "api", "instance": {"serviceTimeMs": 20}}]}');
    expect(loadSpecFile(ok).services).toHaveLength(1);
  });
});

describe('input the schema allows', () => {
  it('a YAML alias bomb is HR_INPUT_TOO_LARGE, not HR_INTERNAL', () => {
    let text = `${svc}run:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n`;
    for (let i = 1; i < 9; i++)
      text += `  a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    expect(problemsOf(() => parseSpecText(text, 'bomb.yaml'))[0]).toMatchObject({ code: 'HR_INPUT_TOO_LARGE' });
  });

  it('nesting thousands of levels deep is a parse error', () => {
    const text = `${svc}run: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`;
    expect(problemsOf(() => parseSpecText(text, 'deep.yaml'))[0]?.code).toMatch(/^HR_SPEC_(PARSE|INVALID)$/);
  });

  it('nodes × count above 100,000 is refused before anything is expanded', () => {
    const nodes = Array.from(
      { length: 10_000 },
      (_, i) => `    - { name: n${i}, cpu: '16', memory: 64Gi, count: 10000 }`,
    );
    const text = `${svc}cluster:\n  nodes:\n${nodes.join('\n')}\n`;
    const t0 = Date.now();
    expect(problemsOf(() => parseSpecText(text, 'nodes.yaml'))[0]).toMatchObject({
      code: 'HR_INPUT_TOO_LARGE',
      path: 'cluster.nodes',
      value: 100_000_000,
      allowed: `at most ${MAX_CLUSTER_NODES} nodes in all`,
    });
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('serviceTimeMs has a floor of 1 µs (5e-324 printed "Infinity rps per instance")', () => {
    const ps = problemsOf(() => parseSpecText(svc.replace('20', '5e-324'), 'tiny.yaml'));
    expect(ps[0]).toMatchObject({
      code: 'HR_SPEC_INVALID',
      path: 'services[0].instance.serviceTimeMs',
      allowed: '>= 0.001',
    });
  });
});
