// SMTP email notifier (nodemailer). One message per notification: the subject says how many alerts
// fire or resolved, the text body lists each with its labels and annotations. Timeouts are short and
// explicit, so a server that accepts TCP and never greets fails the send (and it is retried) instead
// of hanging; the dispatcher never waits on it anyway.
import { createTransport, type Transporter } from 'nodemailer';
import type { Notification, Notifier } from '../../../ports/notifier.ts';

export interface SmtpNotifierConfig {
  receiver: string;
  host: string;
  port: number;
  /** TLS from the first byte (465); otherwise STARTTLS when offered. */
  secure: boolean;
  requireTls: boolean;
  insecureSkipVerify: boolean;
  username?: string | undefined;
  /** Resolved from passwordEnv/passwordFile, never from the YAML. */
  password?: string | undefined;
  from: string;
  to: string[];
  subjectPrefix: string;
  timeoutSeconds: number;
}

export class SmtpNotifier implements Notifier {
  readonly kind = 'email';
  readonly receiver: string;
  private readonly cfg: SmtpNotifierConfig;
  private readonly transport: Transporter;

  constructor(cfg: SmtpNotifierConfig) {
    this.cfg = cfg;
    this.receiver = cfg.receiver;
    const ms = cfg.timeoutSeconds * 1000;
    this.transport = createTransport({
      host: cfg.host,
      port: cfg.port,
      secure: cfg.secure,
      requireTLS: cfg.requireTls,
      ...(cfg.username !== undefined ? { auth: { user: cfg.username, pass: cfg.password ?? '' } } : {}),
      connectionTimeout: ms,
      greetingTimeout: ms,
      socketTimeout: ms,
      tls: { rejectUnauthorized: !cfg.insecureSkipVerify },
      logger: false,
      debug: false,
    });
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const { subject, text } = formatEmail(n, this.cfg.subjectPrefix);
    try {
      await this.transport.sendMail({ from: this.cfg.from, to: this.cfg.to, subject, text });
    } catch (err) {
      // nodemailer's messages carry the server's reply (e.g. "535 Authentication failed"), never
      // the password; the dispatcher redacts them again before logging. The original error is not
      // attached as `cause`: its `command`/`response` fields could hold the AUTH exchange.
      const e = err as { code?: string; responseCode?: number; message?: string };
      // eslint-disable-next-line preserve-caught-error -- see above: no raw cause, by design
      throw new Error(
        `smtp ${this.cfg.host}:${this.cfg.port}: ${e.code ?? 'error'}${e.responseCode ? ` ${e.responseCode}` : ''}: ${e.message ?? String(err)}`,
      );
    }
  }

  close(): Promise<void> {
    this.transport.close();
    return Promise.resolve();
  }
}

/** Subject `[headroom] [FIRING:2] HeadroomInstanceCpuHigh checkout`, and a plain-text body. */
export function formatEmail(n: Notification, prefix: string): { subject: string; text: string } {
  const firing = n.alerts.filter((a) => a.status === 'firing');
  const resolved = n.alerts.filter((a) => a.status === 'resolved');
  const status = n.status === 'firing' ? `FIRING:${firing.length}` : `RESOLVED:${resolved.length}`;
  const subject = [prefix, `[${status}]`, ...Object.values(n.groupLabels)].filter(Boolean).join(' ');
  const lines: string[] = [];
  lines.push(
    `${firing.length} firing, ${resolved.length} resolved (${Object.entries(n.groupLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')})`,
  );
  for (const a of [...firing, ...resolved]) {
    lines.push('');
    lines.push(`[${a.status.toUpperCase()}] ${a.labels.alertname ?? ''}`);
    lines.push(
      `  labels: ${Object.entries(a.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    for (const [k, v] of Object.entries(a.annotations)) lines.push(`  ${k}: ${v}`);
    lines.push(
      `  since: ${iso(a.startsAt)}${a.endsAt !== undefined ? `  resolved: ${iso(a.endsAt)}` : ''}  value: ${a.value}`,
    );
  }
  return { subject, text: `${lines.join('\n')}\n` };
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
