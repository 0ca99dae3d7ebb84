// The proxy MetricsSource, the status server (fastify inject, no port) and the terminal view.
import { describe, expect, it } from 'vitest';
import { ProxyMetricsSource } from '../../src/adapters/metrics/proxy/source.ts';
import { RequestWindows } from '../../src/adapters/metrics/proxy/windows.ts';
import { createServiceMetrics } from '../../src/server/prometheus.ts';
import { buildStatusApp } from '../../src/server/server.ts';
import { keepDecision, STATUS_KIND, type DecisionView, type LocalStatusSnapshot } from '../../src/server/status.ts';
import { systemClock } from '../../src/ports/clock.ts';
import { renderLine, renderStatus } from '../../src/local/view.ts';

function snapshot(): LocalStatusSnapshot {
  return {
    kind: STATUS_KIND,
    mode: 'local',
    time: '2026-01-01T12:00:00.000Z',
    uptimeSeconds: 10,
    service: {
      name: 'web',
      url: 'http://127.0.0.1:8080',
      loadBalancing: 'leastRequests',
      slo: { latencyMs: 500, percentile: 99 },
      capacity: { serviceTimeMs: 50, concurrency: 4, source: 'spec' },
    },
    shadow: false,
    replicas: { desired: 3, current: 3, ready: 2, min: 1, max: 8, fitLimit: 8 },
    decision: {
      at: '2026-01-01T12:00:00.000Z',
      desired: 3,
      recommended: 3,
      valid: true,
      binding: 'latency',
      mode: 'burst',
      reasons: [{ code: 'Burst', message: 'last 6 s at 160 rps' }],
      warnings: [],
      predicted: { utilization: 0.66, latencyMs: 210 },
      sizedForRps: 160,
      applied: true,
    },
    traffic: {
      inFlight: 7,
      stable: {
        windowSeconds: 60,
        seconds: 60,
        arrivalRps: 100,
        completionRps: 99,
        errorRatio: 0.01,
        meanConcurrency: 6,
        latencyMs: { p50: 40, p90: 90, p99: 180, mean: 50, max: 300 },
      },
      burst: null,
      totals: { requests: 6000, errors: 60 },
    },
    instances: [
      {
        id: 'i1',
        state: 'ready',
        pid: 10,
        port: 4000,
        restarts: 0,
        inFlight: 4,
        requests: 3000,
        errors: 0,
        cpuCores: 0.05,
        memoryBytes: 50 * 2 ** 20,
      },
      {
        id: 'i2',
        state: 'starting',
        pid: 11,
        port: 4001,
        restarts: 2,
        inFlight: 0,
        requests: 0,
        errors: 0,
        cpuCores: null,
        memoryBytes: null,
      },
    ],
    host: { cores: 2, memoryBytes: 8 * 2 ** 30, cpuMillisPerInstance: 250, memoryBytesPerInstance: 64 * 2 ** 20 },
    events: [
      { at: '2026-01-01T11:59:59.000Z', type: 'Crashed', instance: 'i2', message: 'exited with code 1', warning: true },
    ],
    history: [],
  };
}

describe('proxy metrics source (MetricsSource port)', () => {
  it('answers ok / no-data / error', async () => {
    let now = 0;
    const w = new RequestWindows({ stableSeconds: 60, burstSeconds: 6 }, () => now);
    const src = new ProxyMetricsSource(w, { ...systemClock, now: () => 42 });
    expect((await src.sample('rate:stable')).kind).toBe('no-data');
    now = 100;
    for (let k = 0; k < 5; k++) w.arrive();
    w.complete(30, true);
    now = 1000;
    expect(await src.sample('rate:burst')).toEqual({ kind: 'ok', value: 5, at: 42, series: 1 });
    expect(await src.sample('inflight')).toMatchObject({ kind: 'ok', value: 4 });
    expect((await src.sample('latency_p99_ms:stable')).kind).toBe('ok');
    expect((await src.sample('nonsense')).kind).toBe('error');
    expect((await src.sample('rate:hourly')).kind).toBe('error');
  });
});

describe('status server', () => {
  it('serves /api/status, /metrics and /healthz, and takes plugins', async () => {
    const metrics = createServiceMetrics('web');
    metrics.observeRequest(0.05, 200);
    metrics.observeRequest(0.2, 503);
    const app = buildStatusApp({
      status: snapshot,
      metrics,
      plugins: [async (a) => void a.get('/extra', async () => ({ extra: true }))],
    });
    const st = await app.inject({ method: 'GET', url: '/api/status' });
    expect(st.statusCode).toBe(200);
    expect(st.json()).toMatchObject({ kind: STATUS_KIND, replicas: { desired: 3 } });
    const m = await app.inject({ method: 'GET', url: '/metrics' });
    expect(m.body).toContain('headroom_replicas{kind="desired",service="web"} 3');
    expect(m.body).toContain('headroom_requests_total{code="5xx",service="web"} 1');
    expect(m.body).toContain('headroom_instance_cpu_cores{instance="i1",service="web"} 0.05');
    expect(m.body).toContain('headroom_demand_rps{window="stable",service="web"} 100');
    expect((await app.inject({ method: 'GET', url: '/extra' })).json()).toEqual({ extra: true });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
  });
});

describe('terminal view', () => {
  it('shows demand, counts, the decision and its reasons, instances and events', () => {
    const text = renderStatus(snapshot(), { phase: 'step ×4', elapsed: 30, total: 180, targetRps: 160 }).join('\n');
    expect(text).toContain('ready 2 · current 3 · desired 3');
    expect(text).toContain('burst → 3');
    expect(text).toContain('Burst: last 6 s at 160 rps');
    expect(text).toContain('i2');
    expect(text).toContain('restarts 2');
    expect(text).toContain('Crashed');
    expect(text).toContain('step ×4');
    expect(renderLine(snapshot())).toContain('ready 2/3 desired 3');
    // Each demand number says which window it is over (was "demand 100.0/– rps").
    expect(renderLine(snapshot())).toContain('demand 100.0 rps over 60 s, – rps over – s');
    const both = snapshot();
    both.traffic.burst = { ...both.traffic.stable!, windowSeconds: 6, seconds: 6, arrivalRps: 33.8 };
    expect(renderLine(both)).toContain('demand 100.0 rps over 60 s, 33.8 rps over 6 s');
    // Requests held at the balancer (queue: balancer) are named beside those in flight.
    expect(text).not.toContain('waiting for a slot');
    const held = snapshot();
    held.traffic.inFlight = 9;
    held.traffic.queued = 3;
    expect(renderStatus(held, {}).join('\n')).toContain('in flight 9 (3 waiting for a slot)');
  });
  it('shows every reason of the decision, not the first three (the fourth says why desired ≠ recommended)', () => {
    const s = snapshot();
    const codes = ['Calibrated', 'Forecast', 'SizedByLatency', 'ScaleDownStabilized'] as const;
    s.decision = {
      ...s.decision!,
      recommended: 4,
      desired: 6,
      reasons: codes.map((code) => ({ code, message: code })),
    };
    const text = renderStatus(s).join('\n');
    for (const code of codes) expect(text).toContain(`${code}: ${code}`);
  });
  it('lists firing and pending alerts, and says when the loop is paused', () => {
    const alert = (rule: string, state: 'pending' | 'firing' | 'resolved', instance?: string) => ({
      fingerprint: rule + state,
      rule,
      state,
      labels: { alertname: rule, service: 'web', ...(instance ? { instance } : {}) },
      annotations: {},
      value: 1,
      activeAt: 0,
      lastTrueAt: 0,
    });
    const s: LocalStatusSnapshot = {
      ...snapshot(),
      paused: true,
      alerts: {
        alerts: [alert('LatencyOverSlo', 'firing'), alert('CrashLooping', 'pending', 'i2'), alert('Old', 'resolved')],
        delivery: { queued: 0, inFlight: 0, sent: 0, failedAttempts: 0, dropped: 0, expired: 0, coalesced: 0 },
        groups: [],
      },
    };
    const text = renderStatus(s).join('\n');
    expect(text).toContain('alerts   1 firing: LatencyOverSlo · 1 pending: CrashLooping(i2)');
    expect(text).not.toContain('Old');
    expect(text).toContain('PAUSED');
    // Named, not only counted (was "alerts firing 1").
    expect(renderLine(s)).toMatch(/alerts firing 1: LatencyOverSlo$/);
    const many: LocalStatusSnapshot = {
      ...s,
      alerts: {
        ...s.alerts!,
        alerts: [
          alert('A'.repeat(60), 'firing'),
          alert('CrashLooping', 'firing', 'i2'),
          alert('ErrorRateHigh', 'firing'),
          alert('CannotFit', 'firing'),
          alert('AtMax', 'firing'),
          alert('Waiting', 'pending'),
        ],
      },
    };
    expect(renderLine(many)).toMatch(
      new RegExp(`alerts firing 5: ${'A'.repeat(39)}…, CrashLooping\\(i2\\), ErrorRateHigh \\+2 more$`),
    );
    expect(renderStatus(snapshot()).join('\n')).not.toMatch(/alerts|PAUSED/);
  });
  it('cuts lines to the terminal width', () => {
    expect(renderStatus(snapshot(), {}, 40).every((l) => l.length <= 40)).toBe(true);
  });
});

describe('keepDecision (the decisions a snapshot keeps)', () => {
  it('the same decision again keeps its first time and takes the newest warnings; another one is kept in front', () => {
    const first = snapshot().decision!;
    const list: DecisionView[] = [];
    keepDecision(list, first);
    const capped = 'replicas.max caps the count at 3, below the 4 needed (replicas.max = 3)';
    keepDecision(list, { ...first, at: '2026-01-01T12:00:05.000Z', warnings: [capped] });
    expect(list).toHaveLength(1);
    expect(list[0]!.at).toBe(first.at);
    expect(list[0]!.warnings).toEqual([capped]);
    keepDecision(list, { ...first, desired: 4, recommended: 4 });
    expect(list.map((d) => d.desired)).toEqual([4, 3]);
  });
});
