// A real SMTP server (npm smtp-server) on 127.0.0.1 receives Headroom's alert mail through
// nodemailer; the test parses it with mailparser. Also: the server down, or accepting TCP and never
// answering, delays and retries the mail without losing it and without blocking the control loop.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildNotifiers } from '../../src/adapters/notifiers/index.ts';
import { parseAlertConfig } from '../../src/alerting/config.ts';
import { createAlerting, type Alerting } from '../../src/alerting/runtime.ts';
import type { ServiceSnapshot } from '../../src/alerting/types.ts';
import { captureLogger, freePort, waitFor } from './support/alerts.ts';

const PASSWORD = 'e2e-smtp-pa55word-7c1f';
const env = { HR_E2E_SMTP_PASSWORD: PASSWORD };

interface Mailbox {
  server: SMTPServer;
  mails: ParsedMail[];
  auths: Array<{ user: string; pass: string }>;
}

async function startSmtp(port: number, opts: { rejectAuth?: boolean } = {}): Promise<Mailbox> {
  const mails: ParsedMail[] = [];
  const auths: Array<{ user: string; pass: string }> = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, cb) {
      auths.push({ user: auth.username ?? '', pass: auth.password ?? '' });
      if (opts.rejectAuth || auth.password !== PASSWORD) return cb(new Error('Invalid username or password'));
      cb(null, { user: auth.username });
    },
    onData(stream, _session, cb) {
      simpleParser(stream)
        .then((m) => {
          mails.push(m);
          cb();
        })
        .catch((e: Error) => cb(e));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, mails, auths };
}

const closeSmtp = (m: Mailbox) => new Promise<void>((r) => m.server.close(() => r()));

/** The SMTP password comes from the environment, or (like a mounted Kubernetes Secret) from a file. */
function setup(port: number, delivery: Record<string, unknown> = {}, secretFrom: 'env' | 'file' = 'env') {
  const secret: Record<string, string> = { passwordEnv: 'HR_E2E_SMTP_PASSWORD' };
  if (secretFrom === 'file') {
    const dir = mkdtempSync(join(tmpdir(), 'hr-smtp-'));
    writeFileSync(join(dir, 'password'), `${PASSWORD}\n`);
    delete secret.passwordEnv;
    secret.passwordFile = join(dir, 'password');
  }
  const cfg = parseAlertConfig({
    defaults: false,
    rules: [
      {
        name: 'HeadroomInstanceCpuHigh',
        expr: 'instance.cpuUtilization > 90%',
        annotations: {
          summary: '{{ $labels.instance }} of {{ $labels.service }} at {{ $value | humanizePercentage }} CPU',
        },
      },
    ],
    receivers: [
      {
        name: 'oncall',
        email: {
          to: ['oncall@example.test'],
          from: 'headroom@example.test',
          smarthost: `127.0.0.1:${port}`,
          username: 'headroom',
          ...secret,
          timeout: '1s',
        },
      },
    ],
    route: { receiver: 'oncall', groupWait: '0s', groupInterval: '1s', repeatInterval: '1h' },
    delivery: { retryInitial: '200ms', retryMax: '1s', ...delivery },
  });
  const logger = captureLogger();
  const { notifiers, redactor } = buildNotifiers(cfg.receivers, { env });
  const alerting = createAlerting(cfg, { notifiers, redactor, logger });
  opened.push(alerting);
  return { alerting, logger };
}

const snaps = (cpu: number): ServiceSnapshot[] => [
  { service: 'checkout', time: Date.now() / 1000, instances: [{ id: 'checkout-7f9c', cpuUtilization: cpu }] },
];
const now = () => Date.now() / 1000;
const opened: Alerting[] = [];
const servers: Array<Mailbox | Server> = [];

afterEach(async () => {
  for (const a of opened.splice(0)) await a.close();
});
afterAll(async () => {
  for (const s of servers) await ('mails' in s ? closeSmtp(s) : new Promise<void>((r) => s.close(() => r())));
});

describe('SMTP notifier against a real SMTP server', () => {
  it('delivers a firing and then a resolved mail, authenticated with a password from the environment', async () => {
    const port = await freePort();
    const box = await startSmtp(port);
    servers.push(box);
    const { alerting, logger } = setup(port);

    alerting.tick(snaps(0.96), now());
    const firing = await waitFor('firing mail', () => box.mails[0]);
    expect(firing.subject).toBe('[headroom] [FIRING:1] HeadroomInstanceCpuHigh checkout');
    expect(firing.text).toContain('[FIRING] HeadroomInstanceCpuHigh');
    expect(firing.text).toContain('summary: checkout-7f9c of checkout at 96% CPU');
    expect(firing.text).toContain('instance=checkout-7f9c');
    expect((firing.to as { text: string }).text).toBe('oncall@example.test');
    expect(box.auths).toEqual([{ user: 'headroom', pass: PASSWORD }]);

    alerting.tick(snaps(0.5), now());
    const resolved = await waitFor('resolved mail', () => box.mails[1], 10_000);
    expect(resolved.subject).toBe('[headroom] [RESOLVED:1] HeadroomInstanceCpuHigh checkout');
    expect(resolved.text).toContain('[RESOLVED] HeadroomInstanceCpuHigh');
    // The server keeps the mail before its 250 reaches the client: wait for the client to count it.
    await waitFor('second send counted', () => alerting.status().delivery.sent >= 2 || undefined);
    expect(alerting.status().delivery).toMatchObject({ sent: 2, dropped: 0, queued: 0 });
    expect(logger.lines.join('\n')).not.toContain(PASSWORD);
  });

  it('server down: the control loop is not blocked, the mail is retried with backoff and arrives when it comes back', async () => {
    const port = await freePort(); // nothing listens: connection refused
    const { alerting, logger } = setup(port);
    // Not blocked, told by order rather than by duration: every tick returns (an evaluation, not a
    // promise) while its notification is still waiting to be delivered.
    let returnedPending = 0;
    for (let i = 0; i < 10; i++) {
      const ev: unknown = alerting.tick(snaps(0.97), now());
      expect(ev).not.toBeInstanceOf(Promise);
      const d = alerting.status().delivery;
      if (d.sent === 0 && d.queued + d.inFlight >= 1) returnedPending++;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(returnedPending).toBe(10);
    await waitFor('two failed attempts', () => alerting.status().delivery.failedAttempts >= 2 || undefined);
    expect(
      logger.lines.some((l) => l.startsWith('alert notification failed; will retry') && l.includes('ECONNREFUSED')),
    ).toBe(true);

    const box = await startSmtp(port);
    servers.push(box);
    const mail = await waitFor('mail after the server came back', () => box.mails[0], 15_000);
    expect(mail.subject).toContain('[FIRING:1] HeadroomInstanceCpuHigh');
    await waitFor('send counted', () => alerting.status().delivery.sent >= 1 || undefined);
    expect(alerting.status().delivery).toMatchObject({ sent: 1, dropped: 0, queued: 0 });
  });

  it('server accepts TCP but never answers: sends time out and retry, ticks stay fast, the mail arrives later', async () => {
    const port = await freePort();
    const sockets: Socket[] = [];
    const hang = createServer((s) => void sockets.push(s)); // never greets
    await new Promise<void>((r) => hang.listen(port, '127.0.0.1', () => r()));
    const { alerting } = setup(port);
    // Ticks go on while a send hangs (order, not duration): count those that returned with a send in
    // flight. Bounded by the server's side: until it saw a second connection (a time-out and a retry).
    let whileSending = 0;
    for (let i = 0; i < 200 && sockets.length < 2; i++) {
      alerting.tick(snaps(0.97), now());
      if (alerting.status().delivery.inFlight >= 1) whileSending++;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sockets.length).toBeGreaterThanOrEqual(2); // it connected, timed out (1 s) and tried again
    expect(alerting.status().delivery.failedAttempts).toBeGreaterThanOrEqual(1);
    expect(whileSending).toBeGreaterThanOrEqual(5); // a 1-s hang spans ~20 ticks 50 ms apart

    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => hang.close(() => r()));
    const box = await startSmtp(port);
    servers.push(box);
    const mail = await waitFor('mail after the server answered', () => box.mails[0], 15_000);
    expect(mail.subject).toContain('[FIRING:1]');
    expect(box.mails).toHaveLength(1); // de-duplicated: one mail, not one per tick
  });

  it('a rejected login (password from a file) is retried and logged without the password', async () => {
    const port = await freePort();
    const box = await startSmtp(port, { rejectAuth: true });
    servers.push(box);
    const { alerting, logger } = setup(port, {}, 'file');
    alerting.tick(snaps(0.99), now());
    await waitFor('two failed logins', () => (box.auths.length >= 2 ? true : undefined));
    expect(box.auths[0]).toEqual({ user: 'headroom', pass: PASSWORD }); // read from the file, newline stripped
    await waitFor('logged failure', () => logger.lines.find((l) => l.includes('will retry') && l.includes('EAUTH')));
    const all = `${logger.lines.join('\n')}\n${alerting.status().delivery.lastError ?? ''}`;
    expect(all).toContain('535');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(Buffer.from(PASSWORD).toString('base64'));
    expect(box.mails).toEqual([]);
  });
});
