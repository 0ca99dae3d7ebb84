// A real Alertmanager (Debian prometheus-alertmanager) started on a free 127.0.0.1 port with a temp
// config and storage receives Headroom's alerts through POST /api/v2/alerts; the test reads them back
// through GET /api/v2/alerts, then sees them resolved.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNotifiers } from '../../src/adapters/notifiers/index.ts';
import { parseAlertConfig } from '../../src/alerting/config.ts';
import { createAlerting } from '../../src/alerting/runtime.ts';
import type { ServiceSnapshot } from '../../src/alerting/types.ts';
import { systemClock } from '../../src/ports/clock.ts';
import { ensureDebs } from './support/debs.ts';
import { captureLogger, freePort, waitFor } from './support/alerts.ts';

const BIN = '/usr/bin/prometheus-alertmanager';
let am: ChildProcess | undefined;
let dir = '';
let base = '';
let amLog = '';

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  status: { state: string };
}

async function amAlerts(): Promise<GettableAlert[]> {
  const res = await request(`${base}/api/v2/alerts`);
  return (await res.body.json()) as GettableAlert[];
}

beforeAll(async () => {
  ensureDebs(['prometheus-alertmanager']);
  dir = mkdtempSync(join(tmpdir(), 'hr-am-'));
  writeFileSync(join(dir, 'am.yml'), 'route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  am = spawn(
    BIN,
    [
      `--config.file=${join(dir, 'am.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  am.stderr?.on('data', (d: Buffer) => (amLog += d.toString()));
  await waitFor(
    'alertmanager ready',
    async () => {
      if (am?.exitCode !== null) throw new Error(`alertmanager exited: ${amLog}`);
      try {
        const res = await request(`${base}/-/ready`);
        await res.body.dump();
        return res.statusCode === 200 || undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
    100,
  );
});

afterAll(async () => {
  // Alertmanager writes its snapshot on SIGTERM: remove its storage only once it has exited.
  if (am && am.exitCode === null && am.signalCode === null) {
    const exited = once(am, 'exit');
    am.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

describe('Alertmanager notifier against a real Alertmanager', () => {
  it('posts firing alerts (labels, annotations, startsAt, endsAt, generatorURL) and then resolves them', async () => {
    const cfg = parseAlertConfig({
      defaults: true,
      receivers: [
        { name: 'am', alertmanager: { url: base, generatorURL: 'http://headroom.test/status', resendInterval: '1m' } },
      ],
    });
    const { notifiers, redactor } = buildNotifiers(cfg.receivers);
    const logger = captureLogger();
    // Producer times in the recent past, so the resolved endsAt (t0 + 70) is already over. The
    // dispatcher's group timers run on the same clock as the ticks.
    const t0 = Math.floor(Date.now() / 1000) - 120;
    let clock = t0;
    const alerting = createAlerting(cfg, { notifiers, redactor, logger, clock: { ...systemClock, now: () => clock } });
    try {
      const snap = (t: number, fits: boolean): ServiceSnapshot[] => [
        { service: 'checkout', time: t, fits, desired: 12, max: 12, needed: 12, demandTrendRpsPerSec: 0 },
      ];
      alerting.tick(snap(t0, false), t0); // pending (for: 1m)
      clock = t0 + 60;
      const ev = alerting.tick(snap(t0 + 60, false), t0 + 60); // firing
      expect(ev.transitions.map((t) => `${t.alert.rule}:${t.to}`)).toEqual(['HeadroomCannotFit:firing']);

      const got = await waitFor('alert in Alertmanager', async () =>
        (await amAlerts()).find((a) => a.labels.alertname === 'HeadroomCannotFit'),
      );
      expect(got.labels).toEqual({ alertname: 'HeadroomCannotFit', service: 'checkout', severity: 'critical' });
      expect(got.annotations.summary).toBe('The cluster cannot fit the instances checkout needs');
      expect(got.status.state).toBe('active');
      expect(Date.parse(got.startsAt) / 1000).toBe(t0 + 60);
      // endsAt = now + 4 × resendInterval, so Alertmanager resolves it by itself if Headroom stops.
      expect(Date.parse(got.endsAt) / 1000).toBe(t0 + 60 + 240);
      expect(got.generatorURL).toBe('http://headroom.test/status');

      clock = t0 + 70;
      alerting.tick(snap(t0 + 70, true), t0 + 70); // fits again: resolved, sent at once
      await waitFor('alert resolved in Alertmanager', async () =>
        (await amAlerts()).some((a) => a.labels.alertname === 'HeadroomCannotFit') ? undefined : true,
      );
      expect(alerting.status().delivery).toMatchObject({ sent: 2, dropped: 0, failedAttempts: 0 });
    } finally {
      await alerting.close();
    }
  });
});
