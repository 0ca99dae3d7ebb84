// The integration API other modes call: parseAlertConfig from an already-parsed spec object (file
// and key path in errors) and createAlerting with no config (built-in rules), ticking on a fake clock
// (vitest's fake timers, which the default systemClock reads).
import { parse } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAlertConfig } from '../../src/alerting/config.ts';
import { defaultRules } from '../../src/alerting/defaults.ts';
import { createAlerting } from '../../src/alerting/runtime.ts';
import type { ServiceSnapshot } from '../../src/alerting/types.ts';
import { HeadroomError, type ProblemDetail } from '../../src/core/errors.ts';
import { systemClock } from '../../src/ports/clock.ts';
import type { Notification, Notifier } from '../../src/ports/notifier.ts';

function problemsOf(f: () => unknown): ProblemDetail[] {
  try {
    f();
  } catch (err) {
    if (err instanceof HeadroomError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a HeadroomError');
}

describe('parseAlertConfig on a parsed spec', () => {
  const spec = parse(
    [
      'services:',
      '  - name: checkout',
      'run:',
      '  command: [node, server.js]',
      'alerts:',
      '  rules:',
      '    - { name: Hot, expr: "service.cpuUtilization > 80%", for: soon }',
    ].join('\n'),
  ) as { alerts: unknown };

  it('names the file and the key path given as an option object', () => {
    const p = problemsOf(() => parseAlertConfig(spec.alerts, { file: 'spec.yaml', path: 'alerts' }));
    expect(p).toEqual([
      expect.objectContaining({
        code: 'HR_ALERT_RULE_INVALID',
        file: 'spec.yaml',
        path: 'alerts.rules[0].for',
        value: 'soon',
      }),
    ]);
    // A nested section (e.g. a CRD's spec.alerts, or one service's) keeps its full path.
    const q = problemsOf(() => parseAlertConfig(spec.alerts, { file: 'crd.yaml', path: 'spec.services[2].alerts' }));
    expect(q[0]?.path).toBe('spec.services[2].alerts.rules[0].for');
    const r = problemsOf(() => parseAlertConfig(spec.alerts, { path: ['spec', 'alerts'] }));
    expect(r[0]).toMatchObject({ path: 'spec.alerts.rules[0].for' });
    expect(r[0]?.file).toBeUndefined();
  });

  it('the older positional form still works', () => {
    const p = problemsOf(() => parseAlertConfig(spec.alerts, 'spec.yaml'));
    expect(p[0]).toMatchObject({ file: 'spec.yaml', path: 'alerts.rules[0].for' });
  });

  it('a section that is not a mapping is an error at its own path', () => {
    const p = problemsOf(() => parseAlertConfig(['x'], { file: 'spec.yaml', path: 'alerts' }));
    expect(p[0]).toMatchObject({ code: 'HR_ALERT_RULE_INVALID', file: 'spec.yaml', path: 'alerts' });
  });

  it('an absent or null section is the built-in rules', () => {
    for (const raw of [undefined, null]) {
      const cfg = parseAlertConfig(raw, { file: 'spec.yaml' });
      expect(cfg.rules.map((r) => r.name)).toEqual(defaultRules().map((r) => r.name));
      expect(cfg.route).toBeUndefined();
    }
  });
});

class Recorder implements Notifier {
  readonly kind = 'webhook';
  readonly receiver = 'hook';
  readonly got: Notification[] = [];
  send(n: Notification): Promise<void> {
    this.got.push(n);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('createAlerting', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with no config evaluates the built-in rules and shows them in status(), sending nothing', async () => {
    let now = 1_000;
    const alerting = createAlerting(undefined, { clock: { ...systemClock, now: () => now } });
    try {
      expect(alerting.engine.rules.map((r) => r.name)).toEqual(defaultRules().map((r) => r.name));
      const snap = (fits: boolean): ServiceSnapshot[] => [{ service: 'api', time: now, fits }];
      alerting.tick(snap(false), now);
      expect(alerting.status().alerts.map((a) => `${a.rule}:${a.state}`)).toEqual(['HeadroomCannotFit:pending']);
      now += 60; // HeadroomCannotFit has for: 1m
      const ev = alerting.tick(snap(false), now);
      expect(ev.transitions.map((t) => `${t.alert.rule}:${t.from}->${t.to}`)).toEqual([
        'HeadroomCannotFit:pending->firing',
      ]);
      expect(alerting.status()).toMatchObject({
        alerts: [{ rule: 'HeadroomCannotFit', state: 'firing', labels: { service: 'api', severity: 'critical' } }],
        delivery: { sent: 0, queued: 0 },
        groups: [],
      });
      now += 10;
      alerting.tick(snap(true), now);
      expect(alerting.status().alerts).toEqual([]);
    } finally {
      await alerting.close();
    }
  });

  it('routes through the given notifiers on the clock, and logs transitions', async () => {
    vi.useFakeTimers({ now: 5_000_000 });
    const now = Date.now() / 1000;
    const cfg = parseAlertConfig({
      defaults: false,
      rules: [{ name: 'Errors', expr: 'service.errorRate > 5%' }],
      receivers: [{ name: 'hook', webhook: { url: 'http://127.0.0.1:9/h' } }],
      route: { groupWait: '30s', groupInterval: '1m' },
    });
    const rec = new Recorder();
    const lines: string[] = [];
    const log = (_o: object, m: string): void => void lines.push(m);
    const alerting = createAlerting(cfg, {
      notifiers: [rec],
      logger: { info: log, warn: log, error: log },
    });
    try {
      alerting.tick([{ service: 'pay', time: now, errorRate: 0.2 }], now);
      expect(lines).toContain('alert firing');
      // groupWait 30 s: the dispatcher's own 1 s ticker flushes the group at 30 s, not before.
      await vi.advanceTimersByTimeAsync(29_000);
      expect(alerting.status().groups).toMatchObject([{ receiver: 'hook', alerts: 1 }]);
      expect(alerting.status().delivery).toMatchObject({ queued: 0, sent: 0 });
      expect(rec.got).toEqual([]);
      await vi.advanceTimersByTimeAsync(1_010); // the send starts on the next turn
      expect(rec.got.map((n) => `${n.status}:${n.alerts.length}:${n.time}`)).toEqual([`firing:1:${now + 30}`]);
      expect(alerting.status().delivery).toMatchObject({ queued: 0, sent: 1 });
      // groupInterval 1 m: nothing new, so nothing more is sent in the next 10 minutes.
      await vi.advanceTimersByTimeAsync(600_000);
      expect(rec.got).toHaveLength(1);
    } finally {
      await alerting.close();
    }
  });
});
