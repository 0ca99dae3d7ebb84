import { describe, expect, it } from 'vitest';
import { parseAlertConfig } from '../../src/alerting/config.ts';
import { AlertDispatcher, type AlertLogger } from '../../src/alerting/dispatcher.ts';
import { AlertEngine } from '../../src/alerting/engine.ts';
import { Redactor } from '../../src/alerting/secrets.ts';
import type { AlertRule, ServiceSnapshot } from '../../src/alerting/types.ts';
import type { Notification, Notifier } from '../../src/ports/notifier.ts';

/** A notifier whose behaviour each test scripts: 'ok', 'fail' or 'hang' per call. */
class FakeNotifier implements Notifier {
  readonly kind = 'webhook';
  readonly receiver: string;
  readonly received: Notification[] = [];
  calls = 0;
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  failMessage = 'HTTP 500';
  constructor(receiver = 'hook') {
    this.receiver = receiver;
  }
  async send(n: Notification, signal: AbortSignal): Promise<void> {
    this.calls++;
    if (this.mode === 'hang')
      return new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error('aborted'))));
    if (this.mode === 'fail') throw new Error(this.failMessage);
    this.received.push(n);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const rule: AlertRule = {
  name: 'Cpu',
  metric: 'instance.cpuUtilization',
  op: '>',
  threshold: 0.9,
  forSeconds: 0,
  keepFiringForSeconds: 0,
  severity: 'warning',
  labels: {},
  annotations: {},
};
const snaps = (t: number, ids: string[], cpu = 0.95): ServiceSnapshot[] => [
  { service: 's', time: t, instances: ids.map((id) => ({ id, cpuUtilization: cpu })) },
];

function logger(): AlertLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`);
  return { lines, info: push, warn: push, error: push };
}

function setup(opts: { queueSize?: number; groupBy?: string[] } = {}) {
  const cfg = parseAlertConfig({
    rules: [],
    defaults: false,
    receivers: [{ name: 'hook', webhook: { url: 'http://127.0.0.1:9/x' } }],
    route: {
      receiver: 'hook',
      groupWait: '0s',
      groupInterval: '1s',
      repeatInterval: '1h',
      groupBy: opts.groupBy ?? ['alertname', 'service'],
    },
    delivery: { queueSize: opts.queueSize ?? 100, retryInitial: '20ms', retryMax: '100ms' },
  });
  const n = new FakeNotifier();
  const log = logger();
  const redactor = new Redactor();
  const d = new AlertDispatcher({
    route: cfg.route,
    receivers: cfg.receivers,
    notifiers: [n],
    delivery: cfg.delivery,
    logger: log,
    redactor,
    sendGuardMs: 200,
  });
  return { d, n, log, redactor, engine: new AlertEngine([rule]) };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('AlertDispatcher', () => {
  it('dispatch returns at once even while the receiver hangs; the send is retried until it works', async () => {
    const { d, n, engine } = setup();
    n.mode = 'hang';
    const t0 = performance.now();
    d.dispatch(engine.evaluate(snaps(0, ['a']), 0), 0);
    expect(performance.now() - t0).toBeLessThan(20);
    await until(() => n.calls >= 1);
    n.mode = 'ok';
    await until(() => n.received.length === 1); // after the 200 ms guard aborts the hung send
    expect(d.stats()).toMatchObject({ sent: 1, dropped: 0, queued: 0 });
    expect(d.stats().failedAttempts).toBeGreaterThanOrEqual(1);
    await d.close();
  });

  it('retries with exponential backoff (20, 40, 80, 100 ms cap) and delivers once the receiver recovers', async () => {
    const { d, n, engine, log } = setup();
    n.mode = 'fail';
    d.dispatch(engine.evaluate(snaps(0, ['a']), 0), 0);
    const t0 = Date.now();
    await until(() => n.calls >= 5);
    // 4 waits of ≥ 20+40+80+100 ms × 0.8 jitter = 192 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    n.mode = 'ok';
    await until(() => n.received.length === 1);
    expect(
      log.lines.filter((l) => l.startsWith('alert notification failed; will retry')).length,
    ).toBeGreaterThanOrEqual(5);
    await d.close();
  });

  it('a full queue drops the OLDEST notification, counts it and logs it', async () => {
    const { d, n, engine, log } = setup({ queueSize: 3, groupBy: ['...'] });
    n.mode = 'fail';
    const dropped: Notification[] = [];
    (d as unknown as { opts: { onGiveUp: (x: Notification) => void } }).opts.onGiveUp = (x) => dropped.push(x);
    // 6 instances → 6 groups (groupBy all labels) → 6 notifications into a queue of 3.
    d.dispatch(engine.evaluate(snaps(0, ['a', 'b', 'c', 'd', 'e', 'f']), 0), 0);
    const s = d.stats();
    expect(s).toMatchObject({ queued: 3, dropped: 3 });
    expect(dropped.map((x) => x.alerts[0]?.labels.instance)).toEqual(['a', 'b', 'c']);
    expect(
      log.lines.filter((l) => l.includes('retry queue full') && l.includes('HR_ALERT_NOTIFY_FAILED')),
    ).toHaveLength(3);
    // The newest survive and arrive when the receiver comes back.
    n.mode = 'ok';
    await until(() => d.stats().queued === 0);
    expect(n.received.map((x) => x.alerts[0]?.labels.instance).sort()).toEqual(['d', 'e', 'f']);
    await d.close();
  });

  it('a newer notification for a waiting group replaces it but keeps the resolved notice it carried', async () => {
    const { d, n, engine } = setup({ groupBy: ['service'] });
    n.mode = 'hang';
    d.dispatch(engine.evaluate(snaps(0, ['a', 'b']), 0), 0); // in flight (hangs)
    await until(() => n.calls === 1);
    d.dispatch(engine.evaluate(snaps(2, ['b']), 2), 2); // a is gone → resolved; queued
    d.dispatch(
      engine.evaluate(
        [
          {
            service: 's',
            time: 4,
            instances: [
              { id: 'b', cpuUtilization: 0.95 },
              { id: 'c', cpuUtilization: 0.97 },
            ],
          },
        ],
        4,
      ),
      4,
    );
    expect(d.stats().coalesced).toBe(1);
    n.mode = 'ok';
    await until(() => n.received.length >= 1 && d.stats().queued === 0);
    // The failed first send (a, b firing) was folded into the newer one: no stale message after it.
    expect(n.received).toHaveLength(1);
    const last = n.received.at(-1);
    expect(last?.alerts.map((a) => `${a.labels.instance}:${a.status}`).sort()).toEqual([
      'a:resolved',
      'b:firing',
      'c:firing',
    ]);
    await d.close();
  });

  it('never logs a secret: errors are redacted', async () => {
    const { d, n, engine, log, redactor } = setup();
    redactor.add('s3cr3t-token-value');
    n.mode = 'fail';
    n.failMessage = 'HTTP 401: bad token s3cr3t-token-value';
    d.dispatch(engine.evaluate(snaps(0, ['a']), 0), 0);
    await until(() => n.calls >= 2);
    await d.close();
    expect(log.lines.join('\n')).toContain('[REDACTED]');
    expect(log.lines.join('\n')).not.toContain('s3cr3t-token-value');
    expect(d.stats().lastError).not.toContain('s3cr3t-token-value');
  });
});
