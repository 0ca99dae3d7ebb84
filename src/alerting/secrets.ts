// Notifier secrets come from an environment variable (`passwordEnv: SMTP_PASSWORD`) or a file
// (`passwordFile: /var/run/secrets/smtp/password`, e.g. a mounted Kubernetes Secret), never from
// the YAML. Every resolved secret is registered with a redactor that scrubs it from log lines and
// error messages.
import { readFileSync } from 'node:fs';
import { HeadroomError } from '../core/errors.ts';

export interface SecretRef {
  env?: string | undefined;
  file?: string | undefined;
}

export const REDACTED = '[REDACTED]';

/** Resolves a secret; undefined when neither env nor file is given. `where` is the key path. */
export function resolveSecret(ref: SecretRef, where: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (ref.env !== undefined) {
    const v = env[ref.env];
    if (v === undefined || v === '') {
      throw new HeadroomError({
        code: 'HR_ALERT_SECRET',
        path: where,
        message: `environment variable ${ref.env} is not set`,
        allowed: 'a non-empty environment variable',
      });
    }
    return v;
  }
  if (ref.file !== undefined) {
    let v: string;
    try {
      v = readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new HeadroomError({
        code: 'HR_ALERT_SECRET',
        path: where,
        file: ref.file,
        message: `cannot read the secret file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      });
    }
    if (v === '')
      throw new HeadroomError({
        code: 'HR_ALERT_SECRET',
        path: where,
        file: ref.file,
        message: 'the secret file is empty',
      });
    return v;
  }
  return undefined;
}

/** Replaces every known secret (and its URL-encoded and base64 forms) with [REDACTED]. */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < 4) return; // too short to scrub safely; still never logged by us
    this.secrets.add(secret);
    this.secrets.add(encodeURIComponent(secret));
    this.secrets.add(Buffer.from(secret).toString('base64'));
  }

  /** A URL whose path or query is the secret (Slack incoming webhooks): scrub those too. */
  addUrl(url: string): void {
    this.add(url);
    try {
      const u = new URL(url);
      this.add(`${u.pathname}${u.search}`.length >= 8 ? `${u.pathname}${u.search}` : undefined);
      this.add(u.pathname.split('/').filter(Boolean).at(-1));
    } catch {
      // not a URL: the whole string is registered already
    }
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is scrubbed whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join(REDACTED);
    return out;
  }
}
