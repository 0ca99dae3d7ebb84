// Generic JSON webhook and Slack-compatible webhook against a real HTTP server on 127.0.0.1: the
// payloads, the bearer token read from a file, retries on HTTP 500 and redaction of the token.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNotifiers } from '../../src/adapters/notifiers/index.ts';
import type { SlackPayload } from '../../src/adapters/notifiers/slack/index.ts';
import type { WebhookPayload } from '../../src/adapters/notifiers/webhook/index.ts';
import { parseAlertConfig } from '../../src/alerting/config.ts';
import { createAlerting } from '../../src/alerting/runtime.ts';
import type { ServiceSnapshot } from '../../src/alerting/types.ts';
import { captureLogger, waitFor } from './support/alerts.ts';

const TOKEN = 'wh-token-0b5e9c2d';
const SLACK_PATH = '/services/T000/B000/slack-secret-42xy';
interface Hit {
  path: string;
  auth: string | undefined;
  body: unknown;
}
const hits: Hit[] = [];
let failNext = 0;
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        // A careless server echoing the credentials: they must not reach Headroom's logs.
        res.writeHead(500).end(`upstream error for ${req.headers.authorization ?? ''} at ${req.url ?? ''}`);
        return;
      }
      hits.push({ path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(data) as unknown });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('webhook and Slack notifiers against a real HTTP server', () => {
  it('delivers Alertmanager-style JSON with a bearer token from a file, and a Slack payload; retries 500s; redacts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-wh-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const cfg = parseAlertConfig({
      defaults: false,
      rules: [
        {
          name: 'HeadroomErrorRateHigh',
          expr: 'service.errorRate > 5%',
          severity: 'critical',
          annotations: { summary: '{{ $labels.service }} fails {{ $value | humanizePercentage }}' },
        },
      ],
      receivers: [
        { name: 'hook', webhook: { url: `${base}/hook`, tokenFile: join(dir, 'token'), headers: { 'x-team': 'pay' } } },
        { name: 'chat', slack: { urlEnv: 'HR_E2E_SLACK_URL', channel: '#pay' } },
      ],
      route: {
        receiver: 'hook',
        groupWait: '0s',
        groupInterval: '1s',
        routes: [{ receiver: 'chat', matchers: ['severity="critical"'], continue: true }, { receiver: 'hook' }],
      },
      delivery: { retryInitial: '100ms', retryMax: '500ms' },
    });
    const { notifiers, redactor } = buildNotifiers(cfg.receivers, {
      env: { HR_E2E_SLACK_URL: `${base}${SLACK_PATH}` },
      externalURL: 'http://headroom.test',
    });
    const logger = captureLogger();
    const alerting = createAlerting(cfg, { notifiers, redactor, logger });
    try {
      failNext = 2; // the first two requests fail with 500
      const snap = (e: number): ServiceSnapshot[] => [{ service: 'pay', time: Date.now() / 1000, errorRate: e }];
      const t = Date.now() / 1000;
      alerting.tick(snap(0.12), t);
      const hook = await waitFor('webhook', () => hits.find((h) => h.path === '/hook'));
      const slack = await waitFor('slack', () => hits.find((h) => h.path === SLACK_PATH));
      expect(hook.auth).toBe(`Bearer ${TOKEN}`);
      const p = hook.body as WebhookPayload;
      expect(p).toMatchObject({
        version: '4',
        status: 'firing',
        receiver: 'hook',
        groupLabels: { alertname: 'HeadroomErrorRateHigh', service: 'pay' },
        externalURL: 'http://headroom.test',
      });
      expect(p.alerts[0]).toMatchObject({
        status: 'firing',
        labels: { alertname: 'HeadroomErrorRateHigh', service: 'pay', severity: 'critical' },
        annotations: { summary: 'pay fails 12%' },
        endsAt: '0001-01-01T00:00:00Z',
      });
      expect(Date.parse(p.alerts[0]?.startsAt ?? '') / 1000).toBeCloseTo(t, 0);
      const s = slack.body as SlackPayload;
      expect(s).toMatchObject({ text: '[FIRING:1] HeadroomErrorRateHigh pay', channel: '#pay', username: 'headroom' });
      expect(s.attachments[0]).toMatchObject({
        color: '#d63031',
        title: '[FIRING] HeadroomErrorRateHigh pay',
        text: 'pay fails 12%',
      });
      expect(alerting.status().delivery.failedAttempts).toBe(2);

      alerting.tick(snap(0.01), Date.now() / 1000);
      const resolved = await waitFor(
        'resolved webhook',
        () => hits.find((h) => h.path === '/hook' && (h.body as WebhookPayload).status === 'resolved'),
        10_000,
      );
      expect((resolved.body as WebhookPayload).alerts[0]?.status).toBe('resolved');

      const logs = logger.lines.join('\n');
      expect(logs).toContain('HTTP 500');
      expect(logs).not.toContain(TOKEN);
      expect(logs).not.toContain('slack-secret-42xy');
    } finally {
      await alerting.close();
    }
  });
});
