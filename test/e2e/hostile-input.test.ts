// Hostile input through the real CLI (issue 18: items 14, 15, 18, 19): every case ends with a
// coded error (or a correct result), no stack trace, within bounded time and a bounded heap
// (--max-old-space-size: a regression aborts instead of eating the machine).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'headroom-hostile-e2e-'));
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

const svc = 'services:\n  - name: api\n    demand: { rps: 100 }\n    instance: { serviceTimeMs: 20 }\n';
const spec = file('spec.yaml', svc);
const token = file('token', 'ghp_s3cretTokenValue\n');
let bomb = `${svc}run:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n`;
for (let i = 1; i < 9; i++)
  bomb += `  a${i}: &a${i} [${Array(10)
    .fill(`*a${i - 1}`)
    .join(', ')}]\n`;
const nodes = Array.from({ length: 10_000 }, (_, i) => `    - { name: n${i}, cpu: '16', memory: 64Gi, count: 10000 }`);
// 250,000 usage samples (the first one ~13 MB): YAML is refused by its token count; the same as
// JSON is planned within the 768-MB heap (below).
const usageRows = Array.from(
  { length: 250_000 },
  (_, i) => `{ t: ${i * 15}, cpu: ${200 + (i % 97)}m, memory: ${3e8 + i} }`,
);
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);

function headroom(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=768', '--disable-warning=ExperimentalWarning', MAIN, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

type Case = [name: string, args: () => string[], code: RegExp, forbidden?: string];
const cases: Case[] = [
  ['plan /dev/zero', () => ['plan', '/dev/zero'], /^HR_FILE_READ /],
  ['plan on a FIFO with no writer', () => ['plan', fifo], /^HR_FILE_READ /],
  ['alerts check --rules /dev/zero', () => ['alerts', 'check', '--rules', '/dev/zero'], /^HR_FILE_READ /],
  ['alerts export --rules on a FIFO', () => ['alerts', 'export', '--rules', fifo], /^HR_FILE_READ /],
  [
    'alerts export: a namespace that is no Kubernetes name',
    () => ['alerts', 'export', '--format', 'prometheusrule', '--namespace', 'Bad_NS'],
    /^HR_USAGE --namespace: must be a Kubernetes namespace name/,
  ],
  [
    'alerts check: a YAML alias bomb',
    () => ['alerts', 'check', '--rules', file('bomb-alerts.yaml', bomb)],
    /^HR_INPUT_TOO_LARGE /,
  ],
  ['plan <token file> never prints the token', () => ['plan', token], /^HR_SPEC_INVALID /, 's3cret'],
  ['plan /proc/self/environ never prints the environment', () => ['plan', '/proc/self/environ'], /^HR_SPEC_/, 'PATH='],
  ['a YAML alias bomb', () => ['plan', file('bomb.yaml', bomb)], /^HR_INPUT_TOO_LARGE /],
  [
    '10,000 nodes × count 10,000',
    () => ['plan', file('nodes.yaml', `${svc}cluster:\n  nodes:\n${nodes.join('\n')}\n`)],
    /^HR_INPUT_TOO_LARGE .*cluster\.nodes/,
  ],
  [
    '250,000 usage samples as YAML: refused before the tree is built',
    () => ['plan', file('usage.yaml', `${svc}    usage:\n${usageRows.map((r) => `      - ${r}`).join('\n')}\n`)],
    /^HR_INPUT_TOO_LARGE .*tokens.*\.json/,
  ],
  [
    'a trailing comma in .json',
    () => ['plan', file('t.json', '{"services":[{"name":"a","instance":{"serviceTimeMs":5}},]}')],
    /^HR_SPEC_PARSE /,
  ],
  [
    'serviceTimeMs 5e-324',
    () => ['plan', file('tiny.yaml', svc.replace('20', '5e-324'))],
    /^HR_SPEC_INVALID .*serviceTimeMs/,
  ],
  [
    'a 5 MB name is cut, not echoed',
    () => ['plan', file('long.yaml', svc.replace('name: api', `name: ${'a'.repeat(5_000_000)}`))],
    /^HR_SPEC_INVALID .*characters\)/,
  ],
  [
    'a file name with a newline and ESC cannot forge a line',
    () => ['plan', join(dir, 'x\nHR_FAKE \u001b[31m.yaml')],
    /^HR_FILE_READ .*\\u000aHR_FAKE \\u001b/,
  ],
  ["--demand ''", () => ['plan', spec, '--demand', ''], /^HR_USAGE --demand/],
  ['--demand 0x10', () => ['plan', spec, '--demand', '0x10'], /^HR_USAGE --demand/],
  ['--demand 1e308', () => ['plan', spec, '--demand', '1e308'], /^HR_USAGE --demand/],
  ['an unknown flag is one line', () => ['plan', spec, '--bogus'], /^HR_USAGE unknown option '--bogus' \(see/],
  [
    'a trace gap of 4e8 s',
    () => ['simulate', '--spec', spec, '--trace', file('gap.csv', 't_seconds,rps\n0,10\n400000000,20\n')],
    /^HR_INPUT_TOO_LARGE /,
  ],
  [
    'trace rates of 1e308',
    () => ['simulate', '--spec', spec, '--trace', file('big.csv', 't_seconds,rps\n0,1e308\n60,1e308\n')],
    /^HR_TRACE_INVALID /,
  ],
  [
    'a huge trace timestamp',
    () => ['simulate', '--spec', spec, '--trace', file('huge.csv', 't_seconds,rps\n0,1\n100000000000000000000,1\n')],
    /^HR_INPUT_TOO_LARGE /,
  ],
  [
    'loadtest redacts user:pw@',
    () => ['loadtest', 'http://user:pw-s3cret@127.0.0.1:1/', '--slo-latency-ms', '10', '--no-progress'],
    /^HR_LOADTEST_TARGET .*\*\*\*@127\.0\.0\.1/,
    's3cret',
  ],
];

describe('large but legitimate input', { timeout: 120_000 }, () => {
  it('250,000 usage samples as .json: planned, with vertical advice from every sample, in a 768-MB heap', async () => {
    const json = JSON.stringify({
      services: [
        {
          name: 'api',
          demand: { rps: 100 },
          instance: { serviceTimeMs: 20, cpu: '500m', memory: 536870912 },
          usage: Array.from({ length: 250_000 }, (_, i) => ({ t: i * 15, cpu: `${200 + (i % 97)}m`, memory: 3e8 + i })),
        },
      ],
    });
    const r = await headroom(['plan', file('usage.json', json)]);
    expect(r.code, r.stderr.slice(0, 2000)).toBe(0);
    expect(r.stdout).toMatch(/vertical cpu\s+request \d+m.*250000 samples/);
  });
});

describe('hostile input through the real CLI', { timeout: 120_000 }, () => {
  it.each(cases)('%s → coded error, exit 2, no stack, bounded time', async (_name, args, code, forbidden) => {
    const r = await headroom(args());
    expect(r.code, r.stderr.slice(0, 2000)).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(code);
    expect(r.stderr).not.toMatch(/HR_INTERNAL|^\s+at /m);
    expect(r.stderr.length).toBeLessThan(4000);
    if (forbidden) expect(r.stderr).not.toContain(forbidden);
    expect(r.ms).toBeLessThan(60_000);
  });
});
