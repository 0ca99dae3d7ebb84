// The one place that turns validated receiver configs into Notifiers (KEDA-style builder switch).
// Secrets are resolved here, from the environment or files, and registered with the redactor.
import type { ReceiverConfig } from '../../alerting/config.ts';
import { Redactor, resolveSecret, type SecretRef } from '../../alerting/secrets.ts';
import { HeadroomError, type ProblemDetail } from '../../core/errors.ts';
import type { Notifier } from '../../ports/notifier.ts';
import { AlertmanagerNotifier } from './alertmanager/index.ts';
import { SlackNotifier } from './slack/index.ts';
import { SmtpNotifier } from './smtp/index.ts';
import { WebhookNotifier } from './webhook/index.ts';

export interface BuildOptions {
  env?: NodeJS.ProcessEnv;
  redactor?: Redactor;
  /** Link to the Headroom status API, put in webhook payloads and Alertmanager generatorURL. */
  externalURL?: string;
}

export function buildNotifiers(
  receivers: readonly ReceiverConfig[],
  opts: BuildOptions = {},
): { notifiers: Notifier[]; redactor: Redactor } {
  const redactor = opts.redactor ?? new Redactor();
  const env = opts.env ?? process.env;
  // Every receiver's missing secret is reported, not only the first one's.
  const problems: ProblemDetail[] = [];
  const notifiers = receivers.flatMap((r, i): Notifier[] => {
    try {
      return [build(r, i)];
    } catch (err) {
      if (!(err instanceof HeadroomError)) throw err;
      problems.push(...err.problems);
      return [];
    }
  });
  if (problems.length > 0) throw new HeadroomError(problems);
  return { notifiers, redactor };

  function build(r: ReceiverConfig, i: number): Notifier {
    const at = (k: string, f: string): string => `alerts.receivers[${i}].${k}.${f}`;
    // A secret from `<field>Env` or `<field>File`, registered with the redactor before any use.
    const secret = (kind: string, field: string, from: SecretRef): string | undefined => {
      const value = resolveSecret(from, at(kind, from.env ? `${field}Env` : `${field}File`), env);
      redactor.add(value);
      return value;
    };
    if (r.email) {
      const e = r.email;
      const password = secret('email', 'password', { env: e.passwordEnv, file: e.passwordFile });
      const [host = '', port = '25'] = e.smarthost.split(':');
      return new SmtpNotifier({
        receiver: r.name,
        host,
        port: Number(port),
        secure: e.secure,
        requireTls: e.requireTls,
        insecureSkipVerify: e.insecureSkipVerify,
        username: e.username,
        password,
        from: e.from,
        to: Array.isArray(e.to) ? e.to : [e.to],
        subjectPrefix: e.subjectPrefix,
        timeoutSeconds: e.timeout,
      });
    }
    if (r.webhook) {
      const w = r.webhook;
      const token = secret('webhook', 'token', { env: w.tokenEnv, file: w.tokenFile });
      return new WebhookNotifier({
        receiver: r.name,
        url: w.url,
        token,
        headers: w.headers,
        timeoutSeconds: w.timeout,
        ...(opts.externalURL ? { externalURL: opts.externalURL } : {}),
      });
    }
    if (r.slack) {
      const s = r.slack;
      const url =
        s.url ??
        resolveSecret({ env: s.urlEnv, file: s.urlFile }, at('slack', s.urlEnv ? 'urlEnv' : 'urlFile'), env) ??
        '';
      redactor.addUrl(url); // the URL is the credential, even when written inline
      return new SlackNotifier({
        receiver: r.name,
        url,
        channel: s.channel,
        username: s.username,
        timeoutSeconds: s.timeout,
      });
    }
    if (r.alertmanager) {
      const a = r.alertmanager;
      const token = secret('alertmanager', 'token', { env: a.tokenEnv, file: a.tokenFile });
      return new AlertmanagerNotifier({
        receiver: r.name,
        url: a.url,
        token,
        generatorURL: a.generatorURL ?? opts.externalURL,
        resendIntervalSeconds: a.resendInterval,
        timeoutSeconds: a.timeout,
      });
    }
    throw new Error(`receiver ${r.name} has no notifier`); // unreachable: the schema requires one
  }
}
