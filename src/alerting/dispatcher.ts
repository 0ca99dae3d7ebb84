// Delivery: takes evaluations, routes them (Router), and sends notifications from a BOUNDED queue
// without ever blocking the caller. `dispatch()` is synchronous and returns at once; sends run on
// their own promises, one at a time per receiver (a hung SMTP server cannot hold up a webhook), and a
// failed send is retried with exponential backoff: 1 s, 2 s, 4 s … capped at retryMax (5 m).
// A full queue drops its OLDEST waiting notification, counts it and logs it (HR_ALERT_NOTIFY_FAILED):
// never silently. A newer notification for the same group replaces a waiting one (merged, so a
// resolved notice it carried is not lost).
import { Router, type ReceiverTraits } from './router.ts';
import type { DeliveryConfig, ReceiverConfig, Route } from './config.ts';
import type { Evaluation } from './types.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import type { Notification, Notifier } from '../ports/notifier.ts';
import { Redactor } from './secrets.ts';

/** pino-compatible subset. */
export interface AlertLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DeliveryStats {
  queued: number;
  inFlight: number;
  sent: number;
  failedAttempts: number;
  /** Dropped because the queue was full. */
  dropped: number;
  /** Given up after maxAge of retries. */
  expired: number;
  /** Replaced by a newer notification for the same group while waiting. */
  coalesced: number;
  lastError?: string;
}

export interface DispatcherOptions {
  route?: Route | undefined;
  receivers: readonly ReceiverConfig[];
  notifiers: readonly Notifier[];
  delivery: DeliveryConfig;
  /** Group timers run on `now` (the clock the engine's `now` comes from), retries on `monotonic`. */
  clock?: Clock;
  logger?: AlertLogger;
  redactor?: Redactor;
  /** How often group timers are checked when started (ms). */
  tickMs?: number;
  /** A send still running after this long is abandoned and retried (ms; notifiers time out sooner). */
  sendGuardMs?: number;
  /** Called for every dropped or expired notification (metrics). */
  onGiveUp?: (n: Notification, reason: 'dropped' | 'expired') => void;
}

interface Job {
  receiver: string;
  notification: Notification;
  attempts: number;
  /** Seconds on clock.monotonic(). */
  enqueuedAt: number;
  nextAttemptAt: number;
  inFlight: boolean;
}

const noop: AlertLogger = { info() {}, warn() {}, error() {} };

export class AlertDispatcher {
  private readonly router: Router | undefined;
  private readonly notifiers: Map<string, Notifier>;
  private readonly queue: Job[] = [];
  private readonly busy = new Set<string>();
  private readonly opts: DispatcherOptions;
  private readonly log: AlertLogger;
  private readonly redactor: Redactor;
  private readonly clock: Clock;
  private readonly stat: DeliveryStats = {
    queued: 0,
    inFlight: 0,
    sent: 0,
    failedAttempts: 0,
    dropped: 0,
    expired: 0,
    coalesced: 0,
  };
  private ticker: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly controllers = new Set<AbortController>();
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(opts: DispatcherOptions) {
    this.opts = opts;
    this.log = opts.logger ?? noop;
    this.redactor = opts.redactor ?? new Redactor();
    this.clock = opts.clock ?? systemClock;
    this.notifiers = new Map(opts.notifiers.map((n) => [n.receiver, n]));
    const traits = new Map<string, ReceiverTraits>();
    for (const r of opts.receivers) {
      const n = this.notifiers.get(r.name);
      traits.set(r.name, {
        sendResolved: r.sendResolved,
        ...(n?.resendIntervalSeconds === undefined ? {} : { resendIntervalSeconds: n.resendIntervalSeconds }),
      });
    }
    this.router = opts.route ? new Router(opts.route, traits) : undefined;
  }

  /** Checks group timers every tickMs (unref'd: it never keeps the process alive). */
  start(): this {
    if (!this.ticker && !this.closed) {
      this.ticker = setInterval(() => this.flush(this.clock.now()), this.opts.tickMs ?? 1000);
      this.ticker.unref();
    }
    return this;
  }

  /** Routes an evaluation and queues what is due. Synchronous; never throws, never waits on I/O. */
  dispatch(evaluation: Evaluation, now: number = this.clock.now()): void {
    if (!this.router || this.closed) return;
    try {
      this.router.ingest(evaluation.alerts, now);
      this.flush(now);
    } catch (err) {
      this.log.error({ code: 'HR_INTERNAL', err: this.redactor.redact(String(err)) }, 'alert dispatch failed');
    }
  }

  /** Queues the notifications whose group timers are due. */
  flush(now: number): void {
    if (!this.router || this.closed) return;
    for (const n of this.router.flush(now)) this.enqueue(n);
    this.pump();
  }

  stats(): DeliveryStats {
    return { ...this.stat, queued: this.queue.length, inFlight: this.busy.size };
  }

  groups(): ReturnType<Router['snapshot']> {
    return this.router?.snapshot() ?? [];
  }

  /** Resolves when nothing is queued or in flight (or after timeoutMs; then false). */
  async idle(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Stops timers, aborts sends in flight and closes the notifiers. Queued notifications are logged. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    clearTimeout(this.retryTimer);
    for (const c of this.controllers) c.abort();
    if (this.queue.length) {
      this.log.warn(
        { code: 'HR_ALERT_NOTIFY_FAILED', unsent: this.queue.length },
        'alert notifications unsent at shutdown',
      );
    }
    await Promise.allSettled([...this.notifiers.values()].map((n) => n.close()));
  }

  private enqueue(n: Notification): void {
    if (!this.notifiers.has(n.receiver)) {
      this.log.error({ code: 'HR_ALERT_ROUTE_INVALID', receiver: n.receiver }, 'no notifier for receiver');
      return;
    }
    const waiting = this.queue.find(
      (j) => !j.inFlight && j.receiver === n.receiver && j.notification.groupKey === n.groupKey,
    );
    if (waiting) {
      // Keep alerts only the older one carried (e.g. a resolved notice), newer state wins otherwise.
      const fresh = new Set(n.alerts.map((a) => a.fingerprint));
      const carried = waiting.notification.alerts.filter((a) => !fresh.has(a.fingerprint));
      waiting.notification = { ...n, alerts: [...n.alerts, ...carried] };
      this.stat.coalesced++;
      return;
    }
    const t = this.clock.monotonic();
    this.queue.push({
      receiver: n.receiver,
      notification: n,
      attempts: 0,
      enqueuedAt: t,
      nextAttemptAt: t,
      inFlight: false,
    });
    while (this.queue.length > this.opts.delivery.queueSize) {
      const i = this.queue.findIndex((j) => !j.inFlight);
      if (i < 0) break;
      const [old] = this.queue.splice(i, 1);
      if (old) this.giveUp(old, 'dropped');
    }
  }

  private giveUp(job: Job, reason: 'dropped' | 'expired'): void {
    if (reason === 'dropped') this.stat.dropped++;
    else this.stat.expired++;
    this.log.error(
      {
        code: 'HR_ALERT_NOTIFY_FAILED',
        reason,
        receiver: job.receiver,
        group: job.notification.groupKey,
        alerts: job.notification.alerts.map((a) => `${a.labels.alertname ?? ''}/${a.status}`),
        attempts: job.attempts,
        dropped: this.stat.dropped,
        expired: this.stat.expired,
      },
      reason === 'dropped'
        ? 'alert notification dropped: retry queue full'
        : 'alert notification given up after retries',
    );
    this.opts.onGiveUp?.(job.notification, reason);
  }

  private pump(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const now = this.clock.monotonic();
    let nextAt = Infinity;
    for (const job of [...this.queue]) {
      if (job.inFlight || this.busy.has(job.receiver)) continue;
      if (now - job.enqueuedAt > this.opts.delivery.maxAge) {
        this.queue.splice(this.queue.indexOf(job), 1);
        this.giveUp(job, 'expired');
        continue;
      }
      if (job.nextAttemptAt > now) {
        nextAt = Math.min(nextAt, job.nextAttemptAt);
        continue;
      }
      this.busy.add(job.receiver);
      job.inFlight = true;
      void this.send(job);
    }
    if (nextAt < Infinity) {
      this.retryTimer = setTimeout(() => this.pump(), Math.max(1, (nextAt - now) * 1000));
      this.retryTimer.unref();
    }
    if (this.queue.length === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  private async send(job: Job): Promise<void> {
    const notifier = this.notifiers.get(job.receiver);
    const ctl = new AbortController();
    this.controllers.add(ctl);
    const guard = setTimeout(() => ctl.abort(new Error('send timed out')), this.opts.sendGuardMs ?? 60_000);
    try {
      if (!notifier) throw new Error(`no notifier ${job.receiver}`);
      // Start the I/O on a later turn, so even a notifier with synchronous setup cannot delay dispatch().
      await new Promise<void>((r) => setImmediate(r));
      await Promise.race([
        notifier.send(job.notification, ctl.signal),
        new Promise<never>((_, rej) =>
          ctl.signal.addEventListener('abort', () => rej(ctl.signal.reason as Error), { once: true }),
        ),
      ]);
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.stat.sent++;
      this.log.info(
        {
          receiver: job.receiver,
          group: job.notification.groupKey,
          status: job.notification.status,
          alerts: job.notification.alerts.length,
          attempts: job.attempts + 1,
        },
        'alert notification sent',
      );
    } catch (err) {
      job.attempts++;
      this.stat.failedAttempts++;
      const { retryInitial, retryMax } = this.opts.delivery;
      // 1 s, 2 s, 4 s … ≤ retryMax, with ±20 % jitter so receivers coming back are not stampeded.
      const delay = Math.min(retryMax, retryInitial * 2 ** (job.attempts - 1)) * (0.8 + 0.4 * Math.random());
      job.nextAttemptAt = this.clock.monotonic() + delay;
      // A newer notification for this group is already waiting: fold this one into it (alerts only
      // this one carried, e.g. a resolved notice, are kept) rather than send stale state after it.
      const newer = this.queue.find(
        (j) =>
          j !== job &&
          !j.inFlight &&
          j.receiver === job.receiver &&
          j.notification.groupKey === job.notification.groupKey,
      );
      if (newer) {
        const fresh = new Set(newer.notification.alerts.map((a) => a.fingerprint));
        newer.notification = {
          ...newer.notification,
          alerts: [...newer.notification.alerts, ...job.notification.alerts.filter((a) => !fresh.has(a.fingerprint))],
        };
        newer.attempts = Math.max(newer.attempts, job.attempts);
        newer.nextAttemptAt = Math.max(newer.nextAttemptAt, job.nextAttemptAt);
        const i = this.queue.indexOf(job);
        if (i >= 0) this.queue.splice(i, 1);
        this.stat.coalesced++;
      }
      const message = this.redactor.redact(err instanceof Error ? err.message : String(err));
      this.stat.lastError = `${job.receiver}: ${message}`;
      if (!this.closed)
        this.log.warn(
          {
            receiver: job.receiver,
            group: job.notification.groupKey,
            attempt: job.attempts,
            retryInSeconds: Number(delay.toFixed(2)),
            err: message,
          },
          'alert notification failed; will retry',
        );
    } finally {
      clearTimeout(guard);
      this.controllers.delete(ctl);
      job.inFlight = false;
      this.busy.delete(job.receiver);
      this.pump();
    }
  }
}
