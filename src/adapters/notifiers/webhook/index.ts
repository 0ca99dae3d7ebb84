// Generic JSON webhook (undici). The body is Alertmanager's webhook payload (version 4), so anything
// written for Alertmanager webhooks reads it unchanged. A non-2xx answer is a failure (retried).
import { request } from 'undici';
import type { Notification, Notifier } from '../../../ports/notifier.ts';

export interface WebhookNotifierConfig {
  receiver: string;
  url: string;
  /** Resolved from tokenEnv/tokenFile; sent as `Authorization: Bearer …`. */
  token?: string | undefined;
  headers: Record<string, string>;
  timeoutSeconds: number;
  /** Where people can see the alerts (the Headroom status API), for `externalURL`. */
  externalURL?: string;
}

export interface WebhookPayload {
  version: '4';
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  truncatedAlerts: number;
  alerts: Array<{
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }>;
}

export function webhookPayload(n: Notification, externalURL = ''): WebhookPayload {
  return {
    version: '4',
    groupKey: n.groupKey,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL,
    truncatedAlerts: 0,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: new Date(a.startsAt * 1000).toISOString(),
      // Alertmanager's zero time for "still firing".
      endsAt: a.endsAt === undefined ? '0001-01-01T00:00:00Z' : new Date(a.endsAt * 1000).toISOString(),
      generatorURL: externalURL,
      fingerprint: a.fingerprint,
    })),
  };
}

/** POST JSON; throws on a non-2xx status with the first 200 characters of the answer. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutSeconds: number,
  signal: AbortSignal,
  what: string,
): Promise<void> {
  const ms = timeoutSeconds * 1000;
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'headroom-alerts', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.any([signal, AbortSignal.timeout(ms)]),
    headersTimeout: ms,
    bodyTimeout: ms,
  });
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw new Error(`${what}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  }
}

export class WebhookNotifier implements Notifier {
  readonly kind = 'webhook';
  readonly receiver: string;
  private readonly cfg: WebhookNotifierConfig;

  constructor(cfg: WebhookNotifierConfig) {
    this.cfg = cfg;
    this.receiver = cfg.receiver;
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const headers = { ...this.cfg.headers, ...(this.cfg.token ? { authorization: `Bearer ${this.cfg.token}` } : {}) };
    await postJson(
      this.cfg.url,
      webhookPayload(n, this.cfg.externalURL),
      headers,
      this.cfg.timeoutSeconds,
      signal,
      `webhook ${new URL(this.cfg.url).origin}`,
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
