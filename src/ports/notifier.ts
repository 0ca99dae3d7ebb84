// The Notifier port: one method that delivers one notification (a group of alerts) to one receiver.
// Adapters live in src/adapters/notifiers/<smtp|webhook|slack|alertmanager>/, each with its config.
// A send either resolves (delivered) or rejects (the dispatcher retries it with backoff); it must
// honour `signal` and its own timeout, and never put a secret in an error message.

export interface NotifiedAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Seconds (epoch when the producer's clock is wall time). */
  startsAt: number;
  /** Seconds; set for resolved alerts. */
  endsAt?: number;
  value: number;
}

export interface Notification {
  receiver: string;
  /** Stable id of the group this notification belongs to (route + groupBy label values). */
  groupKey: string;
  /** firing when any alert in it is firing. */
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: NotifiedAlert[];
  /** Seconds: when the notification was made. */
  time: number;
}

export interface Notifier {
  /** The receiver name from the config. */
  readonly receiver: string;
  readonly kind: 'email' | 'webhook' | 'slack' | 'alertmanager';
  /**
   * Stream receivers (Alertmanager) do their own grouping: they get every alert on its own, re-sent
   * every `resendIntervalSeconds` while firing, like Prometheus does. Others get routed groups.
   */
  readonly resendIntervalSeconds?: number;
  send(notification: Notification, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
