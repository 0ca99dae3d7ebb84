// Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat accept this shape): a `text`
// fallback plus one coloured attachment per alert. The URL itself is the secret (urlEnv/urlFile), so
// errors name only "slack webhook", never the URL.
import type { Notification, Notifier } from '../../../ports/notifier.ts';
import { postJson } from '../webhook/index.ts';

export interface SlackNotifierConfig {
  receiver: string;
  url: string;
  channel?: string | undefined;
  username: string;
  timeoutSeconds: number;
}

export interface SlackPayload {
  text: string;
  username: string;
  channel?: string;
  attachments: Array<{ color: string; title: string; text: string; fallback: string }>;
}

const COLORS: Record<string, string> = { critical: '#d63031', warning: '#fdcb6e', info: '#74b9ff' };

export function slackPayload(n: Notification, cfg: Pick<SlackNotifierConfig, 'channel' | 'username'>): SlackPayload {
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  const resolved = n.alerts.length - firing;
  const group = Object.values(n.groupLabels).join(' ');
  const text = n.status === 'firing' ? `[FIRING:${firing}] ${group}` : `[RESOLVED:${resolved}] ${group}`;
  return {
    text,
    username: cfg.username,
    ...(cfg.channel ? { channel: cfg.channel } : {}),
    attachments: n.alerts.map((a) => {
      const title = `[${a.status.toUpperCase()}] ${a.labels.alertname ?? ''} ${a.labels.service ?? ''}${a.labels.instance ? `/${a.labels.instance}` : ''}`;
      const body = [a.annotations.summary, a.annotations.description].filter(Boolean).join('\n');
      return {
        color: a.status === 'resolved' ? '#00b894' : (COLORS[a.labels.severity ?? ''] ?? '#fdcb6e'),
        title,
        text: body,
        fallback: `${title} ${body}`,
      };
    }),
  };
}

export class SlackNotifier implements Notifier {
  readonly kind = 'slack';
  readonly receiver: string;
  private readonly cfg: SlackNotifierConfig;

  constructor(cfg: SlackNotifierConfig) {
    this.cfg = cfg;
    this.receiver = cfg.receiver;
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    await postJson(this.cfg.url, slackPayload(n, this.cfg), {}, this.cfg.timeoutSeconds, signal, 'slack webhook');
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
