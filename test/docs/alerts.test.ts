// docs/alerts.md's commands as written, through the real CLI: `headroom alerts check --rules FILE
// [--resolve-secrets]` on the example it links (examples/alerts.yaml), and both "Export for your own
// Prometheus" lines, once with every optional flag (FILE = examples/alerts.yaml) and once with none:
// the bracketed values are the defaults, so both print the same rules. promtool's verdict on the
// output is test/e2e/alerts-export.test.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/alerts.md'), 'utf8');
const FILE = 'examples/alerts.yaml';

function headroom(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A documented command line → argv: without `headroom`, its comment and `> file`; `[--opt V]` kept (with) or dropped (without); FILE → the example. */
function argv(line: string, optional: 'with' | 'without'): string[] {
  const bare = line
    .replace(/\s+#.*$/, '')
    .replace(/\s*>\s*\S+\s*$/, '')
    .replace(/\[([^\]]+)\]/g, (_, inner: string) => (optional === 'with' ? inner : ''))
    .trim();
  expect(bare.startsWith('headroom ')).toBe(true);
  return bare
    .slice('headroom '.length)
    .split(/\s+/)
    .filter(Boolean)
    .map((a) => (a === 'FILE' ? FILE : a));
}

/** The rule names of an export, in order. */
const alertNames = (groups: Array<{ name: string; rules: Array<{ alert: string }> }>): string[] =>
  groups.flatMap((g) => g.rules.map((r) => r.alert));

describe('docs/alerts.md commands', () => {
  it('`headroom alerts check --rules FILE` validates the linked example and lists what it defines', () => {
    const line = /`(headroom alerts check --rules FILE \[--resolve-secrets\])`/.exec(DOC)?.[1];
    expect(line, 'the doc names the check command').toBeDefined();
    expect(DOC).toContain(`[${FILE}](../${FILE})`);
    const r = headroom(argv(line!, 'without'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ok ${FILE.replace('.', '\\.')}: \\d+ rules, \\d+ receivers\\n`));
    expect(r.stdout).toContain('CheckoutFewReady'); // the example's own rule, next to the built-in ones
    // --resolve-secrets also resolves the receivers' secrets: unset here, so each is named, exit 2.
    const env = { HEADROOM_SMTP_PASSWORD: '', HEADROOM_HOOK_TOKEN: '' };
    const secrets = headroom(argv(line!, 'with'), env);
    expect(secrets.status).toBe(2);
    expect(secrets.stdout).toBe('');
    expect(secrets.stderr).toMatch(/^HR_ALERT_SECRET /m);
  });

  const block = /## Export for your own Prometheus\n+```sh\n([\s\S]*?)```/.exec(DOC)?.[1] ?? '';
  const [rulesLine, operatorLine] = block.trim().split('\n');

  it('`headroom alerts export [--rules FILE] [--group headroom] > rules.yaml`: Prometheus rule groups', () => {
    expect(rulesLine).toMatch(/^headroom alerts export .*> rules\.yaml/);
    const full = headroom(argv(rulesLine!, 'with'));
    expect(full.stderr).toBe('');
    expect(full.status).toBe(0);
    const doc = parse(full.stdout) as {
      groups: Array<{ name: string; rules: Array<{ alert: string; expr: string }> }>;
    };
    expect(Object.keys(doc)).toEqual(['groups']);
    expect(doc.groups.map((g) => g.name)).toEqual(['headroom']);
    expect(alertNames(doc.groups)).toEqual(expect.arrayContaining(['HeadroomInstanceCpuHigh', 'CheckoutFewReady']));
    for (const r of doc.groups[0]!.rules) expect(r.expr, r.alert).toMatch(/headroom_/);
    // Without the optional flags: the built-in rules alone, in the default group `headroom`.
    const bare = parse(headroom(argv(rulesLine!, 'without')).stdout) as typeof doc;
    expect(bare.groups.map((g) => g.name)).toEqual(['headroom']);
    expect(alertNames(bare.groups)).not.toContain('CheckoutFewReady');
    expect(alertNames(bare.groups)).toContain('HeadroomInstanceCpuHigh');
  });

  it('`headroom alerts export --format prometheusrule --namespace monitoring …`: a PrometheusRule', () => {
    expect(operatorLine).toMatch(/^headroom alerts export --format prometheusrule --namespace monitoring /);
    for (const optional of ['with', 'without'] as const) {
      const r = headroom(argv(operatorLine!, optional));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const doc = parse(r.stdout) as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; namespace: string };
        spec: { groups: Array<{ name: string; rules: Array<{ alert: string }> }> };
      };
      expect(doc.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(doc.kind).toBe('PrometheusRule');
      // [--name headroom-alerts] is the default name.
      expect(doc.metadata).toMatchObject({ name: 'headroom-alerts', namespace: 'monitoring' });
      expect(alertNames(doc.spec.groups).includes('CheckoutFewReady'), optional).toBe(optional === 'with');
    }
  });
});
