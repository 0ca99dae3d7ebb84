// Alerting for a control loop (integration API, see docs/alerts.md):
//   const config = parseAlertConfig(spec.alerts, { file, path: 'alerts' }); // or undefined: built-in rules
//   const { notifiers, redactor } = buildNotifiers(config.receivers);    // secrets from env/files
//   const alerting = createAlerting(config, { notifiers, redactor, logger });
// then every tick: alerting.tick(snapshots, nowSeconds) — evaluates (pure) and hands transitions to
// the dispatcher, which sends in the background; it returns at once. alerting.status() is what the
// status API shows; await alerting.close() on shutdown. `now` must be on the same clock as
// opts.clock.now() (default: wall time in seconds), since group timers run on that clock between ticks.
import { parseAlertConfig, type AlertConfig } from './config.ts';
import { AlertDispatcher, type AlertLogger, type DeliveryStats } from './dispatcher.ts';
import { AlertEngine } from './engine.ts';
import type { Redactor } from './secrets.ts';
import type { Alert, Evaluation, ServiceSnapshot } from './types.ts';
import type { Clock } from '../ports/clock.ts';
import type { Notification, Notifier } from '../ports/notifier.ts';

export interface AlertStatus {
  alerts: Alert[];
  delivery: DeliveryStats;
  groups: Array<{ key: string; receiver: string; groupLabels: Record<string, string>; alerts: number }>;
}

export interface Alerting {
  readonly engine: AlertEngine;
  readonly dispatcher: AlertDispatcher;
  tick(snapshots: readonly ServiceSnapshot[], now: number): Evaluation;
  status(): AlertStatus;
  close(): Promise<void>;
}

export interface AlertingOptions {
  /** From buildNotifiers(config.receivers); none = alerts are evaluated and shown, not sent. */
  notifiers?: readonly Notifier[];
  /** From buildNotifiers: scrubs the resolved secrets from every log line and error. */
  redactor?: Redactor;
  /** pino-compatible; firing/resolved transitions and delivery failures are logged here. */
  logger?: AlertLogger;
  /** `clock.now()` is the clock `tick(…, now)` uses (seconds). Default: systemClock. */
  clock?: Clock;
  /** Called for each notification dropped (full queue) or expired (retries ran out), e.g. for a metric. */
  onGiveUp?: (n: Notification, reason: 'dropped' | 'expired') => void;
}

/**
 * One service's part of an engine's status: the alerts labelled with it, and the groups that are
 * not another service's. An engine shared by several services (the controller, a call graph run)
 * shows each service its own alerts.
 */
export function alertStatusOf(s: AlertStatus, service: string): AlertStatus {
  return {
    ...s,
    alerts: s.alerts.filter((a) => a.labels.service === service),
    groups: s.groups.filter((g) => g.groupLabels.service === undefined || g.groupLabels.service === service),
  };
}

/** With no config: the built-in rules (src/alerting/defaults.ts), no receivers. */
export function createAlerting(
  config: AlertConfig = parseAlertConfig(undefined),
  opts: AlertingOptions = {},
): Alerting {
  const engine = new AlertEngine(config.rules);
  const dispatcher = new AlertDispatcher({
    route: config.route,
    receivers: config.receivers,
    notifiers: opts.notifiers ?? [],
    delivery: config.delivery,
    ...(opts.redactor ? { redactor: opts.redactor } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.onGiveUp ? { onGiveUp: opts.onGiveUp } : {}),
  }).start();
  return {
    engine,
    dispatcher,
    tick(snapshots, now) {
      const ev = engine.evaluate(snapshots, now);
      dispatcher.dispatch(ev, now);
      for (const t of ev.transitions) {
        if (t.to === 'firing' || t.to === 'resolved')
          opts.logger?.info({ alert: t.alert.labels, value: t.alert.value }, `alert ${t.to}`);
      }
      return ev;
    },
    status: () => ({ alerts: engine.current(), delivery: dispatcher.stats(), groups: dispatcher.groups() }),
    close: () => dispatcher.close(),
  };
}
