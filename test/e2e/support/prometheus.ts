// e2e: a REAL Prometheus (Debian package, installed by scripts/install-debs.sh) on a free port with
// a temporary config and storage, scraping local targets every second; and a tiny service that
// counts its requests with prom-client (http_requests_total) and times them in a histogram
// (http_request_duration_seconds), plus a bounded load driver.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Histogram, Registry } from 'prom-client';
import { request } from 'undici';
import { createRng } from '../../support/mgc-sim.ts';
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

export interface PrometheusOptions {
  /**
   * History to backfill before the start: OpenMetrics text (ending `# EOF`) turned into TSDB blocks
   * by `promtool tsdb create-blocks-from openmetrics` in the storage dir. Retention becomes 10 years
   * so the old blocks are not deleted on start.
   */
  openMetrics?: string;
}

/**
 * jobs: job name → host:port targets; ruleFiles: alerting rule files to load (evaluated every
 * scrapeInterval); rawJobs: whole scrape_configs entries (e.g. a shipped job with its relabeling).
 */
export async function startPrometheus(
  jobs: Record<string, string[]>,
  scrapeInterval = '1s',
  ruleFiles: string[] = [],
  rawJobs: Array<Record<string, unknown>> = [],
  opts: PrometheusOptions = {},
): Promise<Prometheus> {
  ensureDebs(['prometheus']);
  const dir = mkdtempSync(join(tmpdir(), 'headroom-prom-'));
  if (opts.openMetrics !== undefined) {
    const file = join(dir, 'history.om.txt');
    writeFileSync(file, opts.openMetrics);
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', file, join(dir, 'data')], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    });
  }
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
    // JSON is YAML: one flow mapping per raw job.
    ...rawJobs.map((j) => `  - ${JSON.stringify(j)}`),
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
          `--storage.tsdb.retention.time=${opts.openMetrics !== undefined ? '3650d' : '1h'}`,
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

/**
 * A real HTTP service: every request counts in http_requests_total and is timed, from arrival to
 * the end of the answer, in http_request_duration_seconds; /metrics exports both. `delayMs`: each
 * request waits that long (a timer, so requests do not queue: the latency is the delay whatever
 * the load, as for a slow dependency).
 */
export interface ServiceOptions {
  /** Every request waits this long (a timer, no queue). */
  delayMs?: number;
  /**
   * A FIFO queue in front of `servers()` slots, each holding a request for an exponential time of
   * mean `meanMs` (seeded): an M/M/c service whose c the test sets, e.g. from the ready pods of a
   * Deployment. Requests wait for a slot, so latency grows as slots go and load rises.
   */
  queue?: { meanMs: number; servers: () => number; seed: number };
}

export async function startCountingService(opts: ServiceOptions = {}): Promise<CountingService> {
  const registry = new Registry();
  const counter = new Counter({
    name: 'http_requests_total',
    help: 'Requests served',
    labelNames: ['code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Request duration',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 2, 5],
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
    const end = duration.startTimer();
    const answer = (): void => {
      served++;
      counter.inc({ code: '200' });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      end();
    };
    if (opts.queue) {
      waiting.push(answer);
      dispatch();
    } else if (opts.delayMs) setTimeout(answer, opts.delayMs);
    else answer();
  });
  // The queue: at most servers() requests in service, the rest wait in arrival order.
  const waiting: Array<() => void> = [];
  let busy = 0;
  const rng = opts.queue ? createRng(opts.queue.seed) : Math.random;
  function dispatch(): void {
    const q = opts.queue;
    if (!q) return;
    while (busy < Math.max(1, q.servers()) && waiting.length > 0) {
      const answer = waiting.shift()!;
      busy++;
      setTimeout(
        () => {
          busy--;
          answer();
          dispatch();
        },
        -q.meanMs * Math.log(1 - rng()),
      );
    }
  }
  const retry = opts.queue ? setInterval(dispatch, 50) : undefined; // slots added between answers
  server.on('close', () => clearInterval(retry));
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
 * `rps × maxSeconds` requests in all (bounded in requests AND time; it stops by itself). Evenly
 * spaced, or Poisson (exponential gaps, seeded) with `poissonSeed`, as queueing models assume.
 */
export function driveLoad(
  url: string,
  rps: number,
  maxSeconds: number,
  opts: { poissonSeed?: number } = {},
): { stop(): Promise<number> } {
  const rng = opts.poissonSeed !== undefined ? createRng(opts.poissonSeed) : undefined;
  let nextMs = 0; // Poisson: the next arrival, ms after t0
  const dueBy = (elapsedMs: number): number => {
    if (!rng) return Math.floor((elapsedMs / 1000) * rps);
    let n = sent;
    while (nextMs <= elapsedMs) {
      n++;
      nextMs += (-1000 / rps) * Math.log(1 - rng());
    }
    return n;
  };
  let sent = 0;
  let stopped = false;
  const limit = Math.ceil(rps * maxSeconds);
  const t0 = Date.now();
  const inflight = new Set<Promise<void>>();
  const loop = (async () => {
    while (!stopped && sent < limit && Date.now() - t0 < maxSeconds * 1000) {
      const due = dueBy(Date.now() - t0);
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
