// e2e: a REAL Prometheus (Debian package, installed by scripts/install-debs.sh) on a free port with
// a temporary config and storage, scraping local targets every second; and a tiny service that
// counts its requests with prom-client (http_requests_total), plus a bounded load driver.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Registry } from 'prom-client';
import { request } from 'undici';
import { ensureDebs } from './debs.ts';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Prometheus {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

/** jobs: job name → host:port targets; ruleFiles: alerting rule files to load (evaluated every scrapeInterval). */
export async function startPrometheus(
  jobs: Record<string, string[]>,
  scrapeInterval = '1s',
  ruleFiles: string[] = [],
): Promise<Prometheus> {
  ensureDebs(['prometheus']);
  const dir = mkdtempSync(join(tmpdir(), 'headroom-prom-'));
  const port = await freePort();
  const config = [
    'global:',
    `  scrape_interval: ${scrapeInterval}`,
    `  evaluation_interval: ${scrapeInterval}`,
    ...(ruleFiles.length ? ['rule_files:', ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:',
    ...Object.entries(jobs).flatMap(([job, targets]) => [
      `  - job_name: ${job}`,
      `    static_configs: [ { targets: [${targets.map((t) => `"${t}"`).join(', ')}] } ]`,
    ]),
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
  let child: ChildProcess | undefined;
  const url = `http://127.0.0.1:${port}`;
  const p: Prometheus = {
    url,
    port,
    async start() {
      child = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=1h',
          // Short lookback: a stopped series disappears from instant queries after 30 s, not 5 min.
          '--query.lookback-delta=30s',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      for (let i = 0; i < 150; i++) {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${err}`);
        try {
          const r = await request(`${url}/-/ready`);
          await r.body.text();
          if (r.statusCode === 200) return;
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
      throw new Error(`prometheus not ready: ${err}`);
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      c.kill('SIGTERM');
      await once(c, 'exit');
    },
    async dispose() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await p.start();
  return p;
}

export interface CountingService {
  url: string;
  target: string;
  served(): number;
  close(): Promise<void>;
}

/** A real HTTP service: every request counts in http_requests_total; /metrics exports it. */
export async function startCountingService(): Promise<CountingService> {
  const registry = new Registry();
  const counter = new Counter({
    name: 'http_requests_total',
    help: 'Requests served',
    labelNames: ['code'],
    registers: [registry],
  });
  // Export the series at 0 from the start: an idle service has a rate of 0, not "no data".
  counter.inc({ code: '200' }, 0);
  let served = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
      return;
    }
    served++;
    counter.inc({ code: '200' });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    served: () => served,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Open-loop load: `rps` requests per second to `url` until `stop()`, at most `maxSeconds` and
 * `rps × maxSeconds` requests in all (bounded in requests AND time; it stops by itself).
 */
export function driveLoad(url: string, rps: number, maxSeconds: number): { stop(): Promise<number> } {
  let sent = 0;
  let stopped = false;
  const limit = Math.ceil(rps * maxSeconds);
  const t0 = Date.now();
  const inflight = new Set<Promise<void>>();
  const loop = (async () => {
    while (!stopped && sent < limit && Date.now() - t0 < maxSeconds * 1000) {
      const due = Math.floor(((Date.now() - t0) / 1000) * rps);
      while (sent < due && sent < limit) {
        sent++;
        const p = request(url)
          .then((r) => r.body.dump())
          .catch(() => undefined)
          .then(() => {
            inflight.delete(p);
          });
        inflight.add(p);
      }
      await sleep(10);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inflight);
      return sent;
    },
  };
}
