// Alerting for `headroom run` (one service or a call graph) from the spec's alerts: section (the
// built-in rules without one). The clusters record firing and resolved alerts as events themselves;
// what this adds are the deliveries' problems, as events too.
import { buildNotifiers } from '../adapters/notifiers/index.ts';
import type { AlertConfig } from '../alerting/config.ts';
import { createAlerting, type Alerting } from '../alerting/runtime.ts';

export function startAlerting(config: AlertConfig, events: { note(msg: string, warning: boolean): void }): Alerting {
  const { notifiers, redactor } = buildNotifiers(config.receivers);
  const say =
    (warning: boolean) =>
    (obj: object, msg: string): void => {
      const o = obj as { receiver?: unknown; err?: unknown };
      // Transitions (no receiver) are already events; these are deliveries and their failures.
      if (o.receiver === undefined && !warning) return;
      const detail = [o.receiver, o.err].filter((x) => x !== undefined).map(String);
      events.note(redactor.redact(detail.length ? `${msg} (${detail.join(': ')})` : msg), warning);
    };
  return createAlerting(config, {
    notifiers,
    redactor,
    logger: { info: say(false), warn: say(true), error: say(true) },
  });
}
