// README.md's commands and shown output, run as written through the real CLI: the `--json | jq`
// pipe, the worked example's `checkout` block and the Money example (its spec is in the README, its
// output is this command's tail). Also docs/developing.md's test commands name scripts, files and
// test names that exist. `headroom` / `npm run [-s] headroom --` become `node src/cli/main.ts` (the
// npm wrapper itself is test/e2e/wrapper.test.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = (doc: string): Array<{ lang: string; text: string; at: number }> =>
  [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, text: m[2]!, at: m.index }));

/** `headroom ARGS` on the repository's CLI entry, from the repository root. */
function headroom(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', join(ROOT, 'src/cli/main.ts'), ...args],
    {
      cwd,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The arguments after `npm run [-s] headroom --` or `headroom`. */
function argsOf(command: string): string[] {
  const m = /^(?:\$ )?(?:npm run (?:-s )?headroom -- |headroom )(.*)$/.exec(command.trim());
  if (!m) throw new Error(`not a headroom command: ${command}`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

const hasJq = spawnSync('sh', ['-c', 'command -v jq']).status === 0;

describe('README.md commands', () => {
  it("`npm run -s headroom -- plan examples/plan.yaml --json | jq '.services[].replicas'` prints each service's count", () => {
    const line = blocks(README)
      .flatMap((b) => b.text.split('\n'))
      .find((l) => l.includes('--json | jq'));
    expect(line).toBe("npm run -s headroom -- plan examples/plan.yaml --json | jq '.services[].replicas'");
    const [cmd, pipe] = line!.split(' | ');
    const r = headroom(argsOf(cmd!));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const filter = /^jq '(.*)'$/.exec(pipe!)![1]!;
    expect(filter).toBe('.services[].replicas');
    // jq when installed; otherwise the same filter in code (the headroom part runs as written).
    const out = hasJq
      ? execFileSync('jq', [filter], { input: r.stdout, encoding: 'utf8' })
      : (JSON.parse(r.stdout) as { services: Array<{ replicas: number }> }).services
          .map((s) => `${s.replicas}\n`)
          .join('');
    // examples/plan.yaml: checkout 39 (the worked example), search 40, thumbnails 5.
    expect(out).toBe('39\n40\n5\n');
  });

  it("the worked example's output is the `checkout` block `plan examples/plan.yaml` prints", () => {
    const block = blocks(README).find((b) => b.text.startsWith('$ npm run headroom -- plan examples/plan.yaml\n'));
    expect(block).toBeDefined();
    const [command, ...shown] = block!.text.trimEnd().split('\n');
    const r = headroom(argsOf(command!));
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.split('\n');
    const start = out.indexOf(shown[0]!);
    expect(start, `"${shown[0]}" is not a line of the output`).toBeGreaterThan(-1);
    expect(out.slice(start, start + shown.length)).toEqual(shown);
    // …and it is the whole block: the next line ends it.
    expect(out[start + shown.length]).toBe('');
  });

  it('the Money example: `headroom plan priced.yaml` on the spec shown ends with the lines shown', () => {
    const i = blocks(README).findIndex((b) => b.lang === 'yaml' && b.text.startsWith('# priced.yaml\n'));
    expect(i).toBeGreaterThan(-1);
    const all = blocks(README);
    const between = README.slice(all[i]!.at + all[i]!.text.length, all[i + 1]!.at);
    const command = /`(headroom plan priced\.yaml)`/.exec(between)?.[1];
    expect(command, 'the command is named between the spec and its output').toBe('headroom plan priced.yaml');
    const dir = mkdtempSync(join(tmpdir(), 'hr-readme-money-'));
    writeFileSync(join(dir, 'priced.yaml'), all[i]!.text);
    const r = headroom(argsOf(command!), dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const shown = all[i + 1]!.text;
    expect(all[i + 1]!.lang).toBe('');
    expect(r.stdout.endsWith(shown), `plan's output does not end with:\n${shown}\nit is:\n${r.stdout}`).toBe(true);
    // The sum the text works out by hand is the one printed.
    expect(README).toContain('= 58.40 USD/month');
    expect(shown).toContain('    cost            58.40 USD/month = 4 × 0.02 USD per instance-hour × 730 h\n');
  });
});

describe('docs/developing.md test commands', () => {
  const doc = readFileSync(join(ROOT, 'docs/developing.md'), 'utf8');
  const lines = blocks(doc.slice(doc.indexOf('## Running tests')))[0]!
    .text.split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

  it('every npm script they run exists, and every file they name', () => {
    expect(lines.length).toBeGreaterThanOrEqual(7);
    for (const l of lines) {
      const script = /npm (?:run (\S+)|(test|start))\b/.exec(l);
      if (script) expect(pkg.scripts, l).toHaveProperty(script[1] ?? script[2]!);
      for (const [file] of l.matchAll(/\b(?:test|bench)\/\S+\.ts\b/g))
        expect(existsSync(join(ROOT, file)), `${l}: ${file}`).toBe(true);
    }
    expect(pkg.scripts['test:unit']).toContain('--project unit');
  });

  it('the -t names match tests in the files they are meant for (decide.test.ts, alerts-webhook.test.ts)', () => {
    const names = lines.flatMap((l) => [...l.matchAll(/-t '([^']+)'/g)].map((m) => m[1]!));
    expect(names).toEqual(['never over-react', 'retries']);
    expect(readFileSync(join(ROOT, 'test/core/decide.test.ts'), 'utf8')).toContain(`'${names[0]}`);
    expect(readFileSync(join(ROOT, 'test/e2e/alerts-webhook.test.ts'), 'utf8')).toMatch(/it\('[^']*retries/);
  });
});
