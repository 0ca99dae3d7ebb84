// docs/simulate.md's examples run as written: the `--json` example is this command's output, every
// `headroom simulate` line names files the repository has (or that its block makes first), and
// examples/bench.yaml is the bench's service (bench/support/issue15.ts), which the doc's numbers use.
// (They named a bench.yaml and a day.csv no one had, and the JSON was two decide() changes old.)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSpecText } from '../../src/input/load.ts';
import { benchModel } from '../../bench/support/issue15.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(`${ROOT}docs/simulate.md`, 'utf8');
const blocks = [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] ?? '' }));
/** A block's commands, continuation lines joined. */
const commands = (text: string): string[] =>
  text
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter(Boolean);

describe('docs/simulate.md', () => {
  it('every simulate example names files that exist, or that an earlier line of its block writes', () => {
    const sims = blocks.flatMap((b) => {
      const lines = commands(b.text).map((l) => l.replace(/\s+#.*$/, ''));
      const made = new Set(lines.flatMap((l) => [...l.matchAll(/>\s*(\S+)/g)].map((m) => m[1])));
      return lines.filter((l) => l.startsWith('headroom simulate ')).map((l) => ({ l, made }));
    });
    expect(sims.length).toBeGreaterThanOrEqual(4);
    for (const { l, made } of sims)
      for (const [, flag, file] of l.matchAll(/--(spec|trace) (\S+)/g)) {
        if (file!.startsWith('synthetic:') || file === 'FILE.csv' || file === 'SPEC.yaml') continue;
        expect(existsSync(`${ROOT}${file}`) || made.has(file), `${l}: --${flag} ${file}`).toBe(true);
      }
  });

  it('examples/bench.yaml is the bench service the measured numbers are for', () => {
    const svc = parseSpecText(readFileSync(`${ROOT}examples/bench.yaml`, 'utf8'), 'bench.yaml').services[0]!;
    const bench = benchModel(2000);
    for (const k of ['instance', 'loadBalancing', 'slo', 'targetUtilization', 'replicas', 'startupSeconds'] as const)
      expect(svc[k], k).toEqual(bench[k]);
  });

  it('the --json example is what its command prints', () => {
    const i = blocks.findIndex((b) => b.text.includes('--policy oracle --json'));
    expect(i).toBeGreaterThan(-1);
    const argv = commands(blocks[i]!.text)[0]!.split(/\s+/).slice(1);
    const out = execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...argv], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(blocks[i + 1]?.lang).toBe('json');
    expect(JSON.parse(out)).toEqual(JSON.parse(blocks[i + 1]!.text));
  }, 120_000);

  it('the --history example prints what the doc shows, and the cold run is the numbers its prose gives', () => {
    const i = blocks.findIndex((b) => b.text.includes('--history 1d --policy headroom kpa oracle'));
    expect(i).toBeGreaterThan(-1);
    const argv = commands(blocks[i]!.text)[0]!.split(/\s+/).slice(1);
    const run = (args: string[]): string =>
      execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    expect(run(argv)).toBe(blocks[i + 1]!.text);
    // The prose: "With `behavior: { forecast: { historySeconds: 0 } }` in the spec ... costs **1.498 ×**
    // the oracle with **285** violating seconds".
    const prose = /historySeconds: 0 \}[\s\S]*?costs \*\*([\d.]+) ×\*\*[\s\S]*?\*\*(\d+)\*\* violating/.exec(doc);
    expect(prose).not.toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'headroom-doc-history-'));
    const cold = join(dir, 'cold.yaml');
    const bench = readFileSync(`${ROOT}examples/bench.yaml`, 'utf8');
    writeFileSync(
      cold,
      bench.replace(
        /( +)startupSeconds: 60\n/,
        '$1startupSeconds: 60\n$1behavior: { forecast: { historySeconds: 0 } }\n',
      ),
    );
    const at = argv.indexOf('examples/bench.yaml');
    const coldArgv = [...argv.slice(0, at), cold, ...argv.slice(at + 1), '--json'];
    const out = JSON.parse(run(coldArgv)) as {
      history: { text: string };
      policies: Array<{ policy: string; costVsOracle: number; sloViolationSeconds: number }>;
    };
    expect(out.history.text).toContain('headroom started with no history');
    const hr = out.policies.find((p) => p.policy === 'headroom')!;
    expect(hr.costVsOracle.toFixed(3)).toBe(prose![1]);
    expect(String(hr.sloViolationSeconds)).toBe(prose![2]);
  }, 120_000);
});
