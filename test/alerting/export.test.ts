import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAlertConfig } from '../../src/alerting/config.ts';
import { defaultRules } from '../../src/alerting/defaults.ts';
import { exportYaml, promqlFor, toPrometheusRuleResource, toPrometheusRules } from '../../src/alerting/export.ts';
import * as M from '../../src/alerting/metric-names.ts';
import { renderTemplate } from '../../src/alerting/template.ts';

describe('Prometheus export', () => {
  it('one rule per Headroom rule, with for, keep_firing_for, severity and labels', () => {
    const cfg = parseAlertConfig({
      rules: [
        {
          name: 'FewReady',
          expr: 'service.ready < 2',
          for: '90s',
          keepFiringFor: '2m',
          severity: 'critical',
          labels: { team: 'pay' },
          services: ['pay.v2'],
        },
      ],
    });
    const file = toPrometheusRules(cfg.rules);
    expect(file.groups[0]?.rules.map((r) => r.alert)).toEqual(cfg.rules.map((r) => r.name));
    const few = file.groups[0]?.rules.find((r) => r.alert === 'FewReady');
    expect(few).toEqual({
      alert: 'FewReady',
      expr: `max by (service) (${M.SERVICE_REPLICAS_READY}{service=~"pay\\\\.v2"}) < 2`,
      for: '1m30s',
      keep_firing_for: '2m',
      labels: { severity: 'critical', team: 'pay' },
      annotations: {},
    });
  });

  it('uses the metric names Headroom exports, hysteresis via ALERTS, multiwindow burn with and', () => {
    const rules = defaultRules();
    const q = (n: string) => promqlFor(rules.find((r) => r.name === n) ?? rules[0]!);
    expect(q('HeadroomInstanceCpuHigh')).toBe(
      `(${M.INSTANCE_CPU_UTILIZATION} > 0.9) or (${M.INSTANCE_CPU_UTILIZATION} > 0.85 and on (service, instance) ALERTS{alertname="HeadroomInstanceCpuHigh", alertstate=~"pending|firing"})`,
    );
    expect(q('HeadroomCrashLooping')).toBe(`increase(${M.INSTANCE_RESTARTS_TOTAL}[10m]) >= 3`);
    const burn = q('HeadroomErrorBudgetBurnFast');
    expect(burn.split(' and ')).toHaveLength(2);
    expect(burn).toContain(`rate(${M.SERVICE_SLO_BAD_REQUESTS_TOTAL}[5m])`);
    expect(burn).toContain(`rate(${M.SERVICE_REQUESTS_TOTAL}[1h])`);
    expect(q('HeadroomCannotFit')).toBe(`max by (service) (${M.SERVICE_FITS}) == 0`);
    expect(q('HeadroomAtMaxReplicas')).toContain(M.SERVICE_REPLICAS_MAX);
  });

  it('writes {{ $threshold }} in as a number (Prometheus has no such variable)', () => {
    const r = toPrometheusRules(defaultRules()).groups[0]?.rules.find((x) => x.alert === 'HeadroomInstanceCpuHigh');
    expect(r?.annotations.description).toBe('CPU above {{ 0.9 | humanizePercentage }} of its request for 5 minutes.');
  });

  it("a rule overriding a built-in's for, window or threshold: the built-in's words follow it", () => {
    const cfg = parseAlertConfig({
      rules: [
        { name: 'HeadroomInstanceCpuHigh', expr: 'instance.cpuUtilization > 90%', for: '15m' },
        { name: 'HeadroomCrashLooping', expr: 'instance.restarts >= 5', window: '1h' },
      ],
    });
    const out = toPrometheusRules(cfg.rules).groups[0]?.rules ?? [];
    const cpu = out.find((x) => x.alert === 'HeadroomInstanceCpuHigh');
    const crash = out.find((x) => x.alert === 'HeadroomCrashLooping');
    expect(cpu?.annotations.description).toBe(
      'CPU above {{ 0.9 | humanizePercentage }} of its request for 15 minutes.',
    );
    expect(crash?.annotations.description).toBe('Crash loop: {{ 5 }} or more restarts in 1 hour.');
    // Headroom's own rendering says the same.
    const rule = cfg.rules.find((r) => r.name === 'HeadroomCrashLooping')!;
    const text = renderTemplate(rule.annotations.description ?? '', {
      labels: {},
      value: 6,
      threshold: rule.threshold,
      forSeconds: rule.forSeconds,
      windowSeconds: rule.windowSeconds ?? 0,
    });
    expect(text).toBe('Crash loop: 5 or more restarts in 1 hour.');
  });

  it('PrometheusRule resource round-trips through YAML', () => {
    const doc = parse(
      exportYaml(
        toPrometheusRuleResource(defaultRules(), { name: 'hr', namespace: 'monitoring', labels: { release: 'kps' } }),
      ),
    ) as ReturnType<typeof toPrometheusRuleResource>;
    expect(doc.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(doc.kind).toBe('PrometheusRule');
    expect(doc.metadata).toEqual({
      name: 'hr',
      namespace: 'monitoring',
      labels: { 'app.kubernetes.io/name': 'headroom', 'app.kubernetes.io/component': 'alerts', release: 'kps' },
    });
    expect(doc.spec.groups[0]?.rules).toHaveLength(defaultRules().length);
  });
});
