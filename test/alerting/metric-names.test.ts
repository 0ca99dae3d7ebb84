// Every metric an exported rule queries is one Headroom's exporters register: `headroom run`'s
// /metrics (src/server/prometheus.ts) and the controller's. Before metric-names.ts was the one
// source of truth, the rules queried headroom_service_requests_total etc. and /metrics exported
// headroom_requests_total, so no exported rule could ever fire.
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { METRICS, parseAlertConfig } from '../../src/alerting/config.ts';
import { defaultRules } from '../../src/alerting/defaults.ts';
import { toPrometheusRules } from '../../src/alerting/export.ts';
import * as M from '../../src/alerting/metric-names.ts';
import { Controller, type ControllerOptions } from '../../src/controller/controller.ts';
import { createServiceMetrics } from '../../src/server/prometheus.ts';

/** The defaults plus one rule per metric a rule can use (windows and all). */
function exportedNames(): string[] {
  const cfg = parseAlertConfig({
    rules: METRICS.map((metric, i) => ({
      name: `R${i}`,
      metric,
      op: '>',
      threshold: 0.5, // within every metric's range (a share, a flag, a count)
      ...(metric === 'service.burnRate' ? { windows: ['5m', '1h'] } : {}),
      ...(metric === 'instance.restarts' ? { window: '10m' } : {}),
    })),
  });
  const file = toPrometheusRules([...defaultRules(), ...cfg.rules]);
  const names = new Set<string>();
  for (const r of file.groups[0]?.rules ?? [])
    for (const m of r.expr.matchAll(/\bheadroom_[a-z0-9_]+/g)) names.add(m[0]);
  return [...names].sort();
}

function registered(reg: Registry): Set<string> {
  return new Set(reg.getMetricsAsArray().map((m) => m.name));
}

function controllerRegistry(): Registry {
  const c = new Controller({
    clients: { counter: { total: 0 } },
    actuator: {},
    metrics: {},
  } as unknown as ControllerOptions);
  return c.registry;
}

describe('metric names: the exported rules query what the exporters register', () => {
  const names = exportedNames();

  it('the rules query a dozen-plus Headroom series', () => {
    expect(names.length).toBeGreaterThanOrEqual(15);
    expect(names).toContain(M.SERVICE_REQUESTS_TOTAL);
    expect(names).toContain(M.INSTANCE_CPU_UTILIZATION);
  });

  it('headroom run /metrics registers every one', () => {
    const have = registered(createServiceMetrics('web').registry);
    expect(names.filter((n) => !have.has(n))).toEqual([]);
  });

  it('the controller registers every one', () => {
    const have = registered(controllerRegistry());
    expect(names.filter((n) => !have.has(n))).toEqual([]);
  });

  it('every name either exporter registers is in metric-names.ts', () => {
    const known = new Set<string>(Object.values(M));
    const all = [...registered(createServiceMetrics('web').registry), ...registered(controllerRegistry())];
    expect(all.filter((n) => !known.has(n))).toEqual([]);
  });

  it('sets the series from a snapshot, and leaves out what it does not know', async () => {
    const metrics = createServiceMetrics('web');
    metrics.alerts.countRequest('web', false, true);
    metrics.alerts.update([
      {
        service: 'web',
        time: 10,
        instances: [{ id: 'i1', cpuUtilization: 0.95, restarts: 2 }],
        desired: 3,
        max: 3,
        fits: false,
        latencyMs: 250,
        slo: { latencyMs: 200, percentile: 99 },
      },
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`${M.INSTANCE_CPU_UTILIZATION}{service="web",instance="i1"} 0.95`);
    expect(text).toContain(`${M.INSTANCE_RESTARTS_TOTAL}{service="web",instance="i1"} 2`);
    expect(text).toContain(`${M.SERVICE_FITS}{service="web"} 0`);
    expect(text).toContain(`${M.SERVICE_LATENCY_SECONDS}{service="web",quantile="0.99"} 0.25`);
    expect(text).toContain(`${M.SERVICE_SLO_LATENCY_SECONDS}{service="web",quantile="0.99"} 0.2`);
    expect(text).toContain(`${M.SERVICE_REQUESTS_TOTAL}{service="web"} 1`);
    expect(text).toContain(`${M.SERVICE_SLO_BAD_REQUESTS_TOTAL}{service="web"} 1`);
    expect(text).toContain(`${M.SERVICE_ERRORS_TOTAL}{service="web"} 0`);
    // No memory sample, no ready count: no series (no data ≠ 0).
    expect(text).not.toMatch(new RegExp(`^${M.INSTANCE_MEMORY_UTILIZATION}\\{`, 'm'));
    expect(text).not.toMatch(new RegExp(`^${M.SERVICE_REPLICAS_READY}\\{`, 'm'));
    // No snapshots (a controller standby): no gauges, so no stale duplicates beside the leader's.
    metrics.alerts.update([]);
    const after = await metrics.registry.metrics();
    expect(after).not.toMatch(new RegExp(`^${M.SERVICE_FITS}\\{`, 'm'));
    expect(after).not.toMatch(new RegExp(`^${M.INSTANCE_CPU_UTILIZATION}\\{`, 'm'));
  });
});
