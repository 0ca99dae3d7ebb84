// Alertmanager v2 API client: POST {url}/api/v2/alerts with a JSON array of alerts. Like Prometheus,
// Headroom re-sends each firing alert every resendInterval with endsAt = now + 4 × resendInterval, so
// Alertmanager resolves it by itself if Headroom stops; a resolved alert is sent with its real endsAt.
// Alertmanager does the grouping, so this is a stream receiver (no Headroom-side groupWait).
import type { Notification, Notifier } from '../../../ports/notifier.ts';
import { postJson } from '../webhook/index.ts';

export interface AlertmanagerNotifierConfig {
  receiver: string;
  /** Base URL, e.g. http://127.0.0.1:9093. */
  url: string;
  token?: string | undefined;
  generatorURL?: string | undefined;
  resendIntervalSeconds: number;
  timeoutSeconds: number;
}

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

export function postableAlerts(
  n: Notification,
  cfg: Pick<AlertmanagerNotifierConfig, 'generatorURL' | 'resendIntervalSeconds'>,
): PostableAlert[] {
  return n.alerts.map((a) => ({
    labels: a.labels,
    annotations: a.annotations,
    startsAt: new Date(a.startsAt * 1000).toISOString(),
    endsAt: new Date((a.endsAt ?? n.time + 4 * cfg.resendIntervalSeconds) * 1000).toISOString(),
    ...(cfg.generatorURL ? { generatorURL: cfg.generatorURL } : {}),
  }));
}

export class AlertmanagerNotifier implements Notifier {
  readonly kind = 'alertmanager';
  readonly receiver: string;
  readonly resendIntervalSeconds: number;
  private readonly cfg: AlertmanagerNotifierConfig;

  constructor(cfg: AlertmanagerNotifierConfig) {
    this.cfg = cfg;
    this.receiver = cfg.receiver;
    this.resendIntervalSeconds = cfg.resendIntervalSeconds;
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const url = `${this.cfg.url.replace(/\/+$/, '')}/api/v2/alerts`;
    const headers: Record<string, string> = this.cfg.token ? { authorization: `Bearer ${this.cfg.token}` } : {};
    await postJson(
      url,
      postableAlerts(n, this.cfg),
      headers,
      this.cfg.timeoutSeconds,
      signal,
      `alertmanager ${new URL(url).origin}`,
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
