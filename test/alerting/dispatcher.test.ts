import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseAlertConfig } from '../../src/alerting/config.ts';
import { AlertDispatcher, type AlertLogger } from '../../src/alerting/dispatcher.ts';
import { AlertEngine } from '../../src/alerting/engine.ts';
import { Redactor } from '../../src/alerting/secrets.ts';
import type { AlertRule, ServiceSnapshot } from '../../src/alerting/types.ts';
import type { Notification, Notifier } from '../../src/ports/notifier.ts';

// The dispatcher on vitest's fake timers (its default clock, systemClock, reads them): sends,
// retries and the send guard happen at exact fake times, so the tests assert order and counts.
// Math.random is pinned to 0.5, so the ±20 % retry jitter factor is exactly 1. Fake timers run the
// zero-delay setImmediate that starts each send 1 ms later, so send times are compared to 0.1 s.

/** A notifier whose behaviour each test scripts: 'ok', 'fail' or 'hang' per call. */
class FakeNotifier implements Notifier {
  readonly kind = 'webhook';
  readonly receiver: string;
  readonly received: Notification[] = [];
  calls = 0;
  /** Fake ms (performance.now) of every send call. */
  readonly callTimes: number[] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  failMessage = 'HTTP 500';
  constructor(receiver = 'hook') {
    this.receiver = receiver;
  }
  async send(n: Notification, signal: AbortSignal): Promise<void> {
    this.calls++;
    this.callTimes.push(performance.now());
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

function setup(opts: { queueSize?: number; groupBy?: string[]; delivery?: Record<string, string | number> } = {}) {
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
    delivery: opts.delivery ?? { queueSize: opts.queueSize ?? 100, retryInitial: '1s', retryMax: '5s' },
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

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
/** Fake seconds of each send, to 0.1 s. */
const sendTimes = (n: FakeNotifier) => n.callTimes.map((t) => Math.round(t / 100) / 10);
const retries = (log: { lines: string[] }) =>
  log.lines.filter((l) => l.startsWith('alert notification failed; will retry')).length;

describe('AlertDispatcher (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('dispatch returns before the send starts, even while the receiver hangs; the guard aborts it and the retry works', async () => {
    const { d, n, engine } = setup();
    n.mode = 'hang';
    d.dispatch(engine.evaluate(snaps(0, ['a']), 0), 0);
    // Returned without calling the notifier: the send starts on a later turn.
    expect(n.calls).toBe(0);
    expect(d.stats()).toMatchObject({ queued: 1, inFlight: 1 });
    await advance(1);
    expect(n.calls).toBe(1);
    n.mode = 'ok';
    await advance(190);
    expect(d.stats()).toMatchObject({ failedAttempts: 0, inFlight: 1 }); // still hung: the guard is 200 ms
    await advance(20); // the guard aborts it → a failed attempt, retried 1 s later
    expect(d.stats()).toMatchObject({ failedAttempts: 1, sent: 0, queued: 1, inFlight: 0 });
    await advance(1000);
    expect(sendTimes(n)).toEqual([0, 1.2]);
    expect(d.stats()).toMatchObject({ sent: 1, failedAttempts: 1, dropped: 0, queued: 0 });
    await d.close();
  });

  it.each([
    // factor 1: waits 1, 2, 4, 5 (cap), 5 s
    [0.5, [0, 1, 3, 7, 12, 17]],
    // factor 0.8 (the least jitter allows): 0.8, 1.6, 3.2, 4, 4 s
    [0, [0, 0.8, 2.4, 5.6, 9.6, 13.6]],
  ])('retries with exponential backoff capped at retryMax (random %s)', async (random, times) => {
    vi.spyOn(Math, 'random').mockReturnValue(random);
    const { d, n, engine, log } = setup();
    n.mode = 'fail';
    d.dispatch(engine.evaluate(snaps(0, ['a']), 0), 0);
    await advance(times.at(-2)! * 1000 + 10);
    expect(n.calls).toBe(5);
    expect(retries(log)).toBe(5);
    n.mode = 'ok';
    await advance((times.at(-1)! - times.at(-2)!) * 1000);
    expect(sendTimes(n)).toEqual(times);
    expect(n.received).toHaveLength(1);
    expect(d.stats()).toMatchObject({ sent: 1, failedAttempts: 5, queued: 0 });
    await d.close();
  });

  it('with the default delivery (1 s doubling to 5 m, maxAge 1 d) a receiver down for a day gets 296 attempts, then the notification expires', async () => {
    const { d, n, engine, log } = setup({ delivery: {} });
    const expired: Notification[] = [];
    (d as unknown as { opts: { onGiveUp: (x: Notification) => void } }).opts.onGiveUp = (x) => expired.push(x);
    n.mode = 'fail';
    d.dispatch(engine.evaluate(snaps(0, ['a']), 0), 0);
    // Attempts at 0, 1, 3, 7, 15, 31, 63, 127, 255, 511 s, then every 300 s: 511 + 300 k ≤ 86 400
    // for k ≤ 286, so 9 + 287 = 296 attempts; the next is due at 86 611 s > 1 d: expired, not sent.
    await advance(86_400_000);
    expect(n.calls).toBe(296);
    expect(sendTimes(n).slice(0, 11)).toEqual([0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 811]);
    expect(d.stats()).toMatchObject({ expired: 0, queued: 1 });
    await advance(212_000);
    expect(d.stats()).toMatchObject({ expired: 1, queued: 0, failedAttempts: 296, sent: 0 });
    expect(expired).toHaveLength(1);
    expect(log.lines.filter((l) => l.startsWith('alert notification given up after retries'))).toHaveLength(1);
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
    // The newest survive and arrive when the receiver comes back (one send at a time per receiver).
    await advance(10);
    expect(n.calls).toBe(3); // each failed once
    n.mode = 'ok';
    await advance(1010);
    expect(d.stats()).toMatchObject({ queued: 0, sent: 3, dropped: 3 });
    expect(n.received.map((x) => x.alerts[0]?.labels.instance).sort()).toEqual(['d', 'e', 'f']);
    await d.close();
  });

  it('a newer notification for a waiting group replaces it but keeps the resolved notice it carried', async () => {
    const { d, n, engine } = setup({ groupBy: ['service'] });
    n.mode = 'hang';
    d.dispatch(engine.evaluate(snaps(0, ['a', 'b']), 0), 0); // in flight (hangs)
    await advance(1);
    expect(n.calls).toBe(1);
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
    await advance(200 + 1010); // the guard aborts the hung send at 200 ms; the merged one goes 1 s later
    // The failed first send (a, b firing) was folded into the newer one: no stale message after it.
    expect(d.stats()).toMatchObject({ queued: 0, sent: 1, coalesced: 2 });
    expect(n.received).toHaveLength(1);
    expect(n.received[0]?.alerts.map((a) => `${a.labels.instance}:${a.status}`).sort()).toEqual([
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
    await advance(1010);
    expect(n.calls).toBe(2);
    await d.close();
    expect(log.lines.join('\n')).toContain('[REDACTED]');
    expect(log.lines.join('\n')).not.toContain('s3cr3t-token-value');
    expect(d.stats().lastError).toContain('[REDACTED]');
    expect(d.stats().lastError).not.toContain('s3cr3t-token-value');
  });
});
