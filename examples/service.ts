// An example service whose capacity is known in theory, for `headroom loadtest`, the local cluster
// and the dashboard.
//
//   node --disable-warning=ExperimentalWarning examples/service.ts [--port 8080] [--work-ms 20] ...
//
// Settings (flag, else env, else default):
//   --host / HOST                127.0.0.1
//   --port / PORT                8080 (0 picks a free port; the listen line says which)
//   --work-ms / WORK_MS          mean service time per request, ms (default 20; 0 = answer at once)
//   --concurrency / CONCURRENCY  requests processed at once; the rest wait in a FIFO queue (default 1)
//   --work-mode / WORK_MODE      sleep: hold one of CONCURRENCY slots for the time, so capacity is
//                                exactly CONCURRENCY·1000/WORK_MS whatever the cores (default);
//                                cpu: busy-loop for the time on one of CONCURRENCY worker threads, so
//                                capacity is min(CONCURRENCY, cores)·1000/WORK_MS
//   --work-dist / WORK_DIST      how each request's time varies (default fixed):
//                                fixed: exactly WORK_MS;
//                                exponential: mean WORK_MS, CV 1 (the M/M/c assumption);
//                                lognormal: mean WORK_MS, CV WORK_CV (σ² = ln(1 + CV²),
//                                  μ = ln(WORK_MS) − σ²/2);
//                                bimodal:P,A,B: a share P (0 < P < 1) takes A ms, the rest B ms; the
//                                  mean P·A + (1 − P)·B is WORK_MS (set WORK_MS only to that value)
//   --work-cv / WORK_CV          lognormal only: standard deviation ÷ mean, 0..10 (default 1)
//   --seed / SEED                integer 0..4294967295: draw service times (and failures) from a
//                                seeded generator, so two runs draw the same sequence (default: random)
//   --fail-rate / FAIL_RATE      fraction of work requests answered 500 (default 0), for error tests
//   --calls / CALLS              what each request calls after its own work (a call graph, docs/graph.md),
//                                JSON: [{"url":"http://127.0.0.1:PORT","perRequest":1.5,"mode":"sequential"}]
//                                (`headroom run` sets it to the callees' balancers). As src/core/graph.ts
//                                and test/support/graph-sim.ts model it: the own work holds a slot; the
//                                calls come after the slot is released; perRequest 1.5 = 1 or 2 calls
//                                (2 with probability 0.5); sequential calls one after another in list
//                                order, then all parallel ones together (the slowest counts). Any call
//                                failing (not 2xx, or no answer) → 502, counted in http_calls_total.
//
// E.g. WORK_MS=20 CONCURRENCY=4 WORK_MODE=sleep → 4 · 1000/20 = 200 rps; above that the queue grows.
// The distribution changes the tail, not the capacity (which depends on the mean only):
// - lognormal, WORK_MS=20 WORK_CV=2: σ² = ln 5 = 1.609, median 20/√5 = 8.9 ms, p90 45.5, p99 171,
//   p99.9 451 ms (exponential, CV 1: p50 13.9, p99 92.1 ms);
// - bimodal:0.95,10,210: mean 0.95·10 + 0.05·210 = 20 ms, sd √(0.95·0.05)·200 = 43.6 ms, CV 2.18;
//   p50 and p90 10 ms, p99 210 ms.
// Sleep mode waits on Node timers, which fire on whole milliseconds: each time is rounded up to the
// next ms plus ~0.1–1 ms of timer lag (a fixed 20 ms takes ~20.7 ms), and times under 1 ms take
// ~1 ms, so distributions are faithful only above a few ms. cpu mode is exact to µs but needs a core.
// GET /healthz answers 200 at once (it does not wait in the work queue). GET /metrics answers at once
// with Prometheus metrics (prom-client): http_requests_total{code} (answered), the gauge
// http_requests_in_flight (received, not yet answered) and the histogram
// http_request_duration_seconds (arrival to answer, queueing included), what a HeadroomPolicy's
// demand and latency templates read on Kubernetes (examples/k8s). Any other path does the work
// and answers 200 with a small JSON body. SIGTERM/SIGINT: stop accepting, finish in-flight and queued
// requests, exit 0. One JSON line on stdout when listening.
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { z } from 'zod';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    'work-ms': { type: 'string' },
    concurrency: { type: 'string' },
    'work-mode': { type: 'string' },
    'work-dist': { type: 'string' },
    'work-cv': { type: 'string' },
    seed: { type: 'string' },
    'fail-rate': { type: 'string' },
    calls: { type: 'string' },
  },
  strict: true,
});

function setting(flag: string | undefined, env: string, fallback: string): string {
  return flag ?? process.env[env] ?? fallback;
}

function fail(message: string): never {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: message })}\n`);
  process.exit(2);
}

function num(name: string, raw: string, min: number, max: number, int = false): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    fail(`${name} must be ${int ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return v;
}

const host = setting(values.host, 'HOST', '127.0.0.1');
const port = num('PORT', setting(values.port, 'PORT', '8080'), 0, 65535, true);
const workMsRaw = values['work-ms'] ?? process.env.WORK_MS;
let workMs = num('WORK_MS', workMsRaw ?? '20', 0, 60_000);
const concurrency = num('CONCURRENCY', setting(values.concurrency, 'CONCURRENCY', '1'), 1, 10_000, true);
const mode = setting(values['work-mode'], 'WORK_MODE', 'sleep');
const distRaw = setting(values['work-dist'], 'WORK_DIST', 'fixed');
const cvRaw = values['work-cv'] ?? process.env.WORK_CV;
const seedRaw = values.seed ?? process.env.SEED;
const failRate = num('FAIL_RATE', setting(values['fail-rate'], 'FAIL_RATE', '0'), 0, 1);
if (mode !== 'sleep' && mode !== 'cpu') fail(`WORK_MODE must be sleep or cpu, got ${JSON.stringify(mode)}`);

const callsSchema = z
  .array(
    z.strictObject({
      url: z.url({ protocol: /^https?$/ }),
      perRequest: z.number().positive().max(1000),
      mode: z.enum(['sequential', 'parallel']).default('sequential'),
    }),
  )
  .max(100);

function parseCalls(raw: string | undefined): z.output<typeof callsSchema> {
  if (raw === undefined || raw.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    fail(
      `CALLS must be JSON, e.g. [{"url":"http://127.0.0.1:8081","perRequest":1.5,"mode":"sequential"}]: ${String(err)}`,
    );
  }
  const r = callsSchema.safeParse(json);
  if (!r.success) {
    const where = r.error.issues.map(
      (i) => `CALLS${i.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('')}: ${i.message}`,
    );
    fail(`${where.join('; ')} (each call: url http(s)://host:port, perRequest > 0, mode sequential|parallel)`);
  }
  return r.data;
}

type Dist =
  | { kind: 'fixed' | 'exponential' }
  | { kind: 'lognormal'; cv: number; mu: number; sigma: number }
  | { kind: 'bimodal'; share: number; fastMs: number; slowMs: number };

function parseDist(raw: string): Dist {
  if (raw === 'fixed' || raw === 'exponential' || raw === 'lognormal') {
    if (cvRaw !== undefined && raw !== 'lognormal')
      fail(`WORK_CV applies to WORK_DIST=lognormal only, got WORK_DIST=${JSON.stringify(raw)}`);
    if (raw !== 'lognormal') return { kind: raw };
    const cv = num('WORK_CV', cvRaw ?? '1', 0, 10);
    const sigma2 = Math.log1p(cv * cv);
    return { kind: 'lognormal', cv, mu: Math.log(workMs) - sigma2 / 2, sigma: Math.sqrt(sigma2) };
  }
  const m = /^bimodal:([^,]*),([^,]*),([^,]*)$/.exec(raw);
  if (!m) {
    fail(
      `WORK_DIST must be fixed, exponential, lognormal or bimodal:P,A,B (e.g. bimodal:0.95,10,210), got ${JSON.stringify(raw)}`,
    );
  }
  if (cvRaw !== undefined) fail(`WORK_CV applies to WORK_DIST=lognormal only, got WORK_DIST=${JSON.stringify(raw)}`);
  const share = num('bimodal share P', m[1]!, 0, 1);
  if (share === 0 || share === 1) fail(`bimodal share P must be strictly between 0 and 1, got ${m[1]}`);
  const fastMs = num('bimodal time A (ms)', m[2]!, 0, 60_000);
  const slowMs = num('bimodal time B (ms)', m[3]!, 0, 60_000);
  // Rounded to 1e-9 ms so that 0.95·10 + 0.05·210 is 20, not 20.000000000000007.
  const rest = Math.round((1 - share) * 1e12) / 1e12;
  const mean = Math.round((share * fastMs + rest * slowMs) * 1e9) / 1e9;
  if (workMsRaw !== undefined && Math.abs(mean - workMs) > 1e-6 * Math.max(1, mean)) {
    fail(
      `WORK_MS=${workMs} does not match the mean of ${raw}: ${share}·${fastMs} + ${rest}·${slowMs} = ${mean} ms (leave WORK_MS unset, or set it to that)`,
    );
  }
  workMs = mean;
  return { kind: 'bimodal', share, fastMs, slowMs };
}
const dist = parseDist(distRaw);
const calls = parseCalls(values.calls ?? process.env.CALLS);

// mulberry32: a small seeded generator (uniform in [0, 1)) when SEED is given.
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seedRaw !== undefined ? seeded(num('SEED', seedRaw, 0, 4_294_967_295, true)) : Math.random;

/**
 * One request's service time (ms): fixed; exponential −ln(1 − U)·mean; lognormal e^(μ + σZ) with Z
 * standard normal (Box–Muller); bimodal A with probability P, else B.
 */
function serviceTime(): number {
  switch (dist.kind) {
    case 'fixed':
      return workMs;
    case 'exponential':
      return -Math.log1p(-random()) * workMs;
    case 'lognormal': {
      const z = Math.sqrt(-2 * Math.log1p(-random())) * Math.cos(2 * Math.PI * random());
      return Math.exp(dist.mu + dist.sigma * z);
    }
    case 'bimodal':
      return random() < dist.share ? dist.fastMs : dist.slowMs;
  }
}

// cpu mode: one worker thread per slot, each busy-looping for the asked time. The event loop stays
// free, so /healthz and the queue keep answering while the workers burn CPU.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
  parentPort.postMessage(0);
});`;

interface Slot {
  run(ms: number, done: () => void): void;
  close(): Promise<unknown>;
}

function sleepSlot(): Slot {
  return { run: (ms, done) => void setTimeout(done, ms), close: () => Promise.resolve() };
}

function cpuSlot(): Slot {
  const w = new Worker(WORKER_SOURCE, { eval: true });
  w.unref();
  let pending: (() => void) | undefined;
  w.on('message', () => {
    const d = pending;
    pending = undefined;
    d?.();
  });
  return {
    run(ms, done) {
      pending = done;
      w.postMessage(ms);
    },
    close: () => w.terminate(),
  };
}

const free: Slot[] = Array.from({ length: concurrency }, () => (mode === 'cpu' ? cpuSlot() : sleepSlot()));
const allSlots = [...free];
// FIFO of requests waiting for a slot; `head` avoids O(n) shifts when the queue is long.
const queue: Array<(slot: Slot) => void> = [];
let head = 0;
let inFlight = 0;
let served = 0;
let shuttingDown = false;

function acquire(job: (slot: Slot) => void): void {
  const slot = free.pop();
  if (slot) job(slot);
  else queue.push(job);
}

function release(slot: Slot): void {
  if (head < queue.length) {
    const next = queue[head]!;
    queue[head++] = undefined as unknown as (slot: Slot) => void;
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    next(slot);
  } else free.push(slot);
}

function finish(res: ServerResponse, status: number, body: string): void {
  if (shuttingDown) res.setHeader('connection', 'close');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const registry = new Registry();
const requests = new Counter({
  name: 'http_requests_total',
  help: 'Work requests answered, by status code',
  labelNames: ['code'],
  registers: [registry],
});
requests.inc({ code: '200' }, 0); // an idle service has a rate of 0, not "no data"
// Answered + in flight = arrived: what a HeadroomPolicy's spec.demand.pods.inFlight reads, so a
// saturated instance still shows the rate that arrives, not only the rate it serves.
new Gauge({
  name: 'http_requests_in_flight',
  help: 'Work requests received and not yet answered (queued included)',
  registers: [registry],
  collect() {
    this.set(inFlight);
  },
});
const duration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Work requests, arrival to answer (queueing included)',
  // Dense around typical SLOs (50 ms – 1 s): histogram_quantile interpolates inside a bucket.
  buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10],
  registers: [registry],
});

const callsTotal = new Counter({
  name: 'http_calls_total',
  help: 'Calls to callees (CALLS), by callee URL and outcome (ok, or failed: not 2xx or no answer)',
  labelNames: ['callee', 'outcome'],
  registers: [registry],
});
// Keep-alive, unbounded: the callee's balancer queues, not this client.
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

/** One call through the callee's balancer: resolves true on 2xx, false otherwise (never rejects). */
function call(base: string, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(new URL(path, base), { agent }, (r) => {
      r.resume();
      r.on('end', () => {
        const ok = r.statusCode !== undefined && r.statusCode >= 200 && r.statusCode < 300;
        callsTotal.inc({ callee: base, outcome: ok ? 'ok' : 'failed' });
        resolve(ok);
      });
      r.on('error', () => resolve(false));
    });
    req.on('error', () => {
      callsTotal.inc({ callee: base, outcome: 'failed' });
      resolve(false);
    });
    req.end();
  });
}

/** This request's calls: ⌊p⌋ or ⌈p⌉ copies of each; sequential ones in order, then the parallel group. */
async function makeCalls(path: string): Promise<boolean> {
  const seq: string[] = [];
  const par: string[] = [];
  for (const c of calls) {
    const n = Math.floor(c.perRequest) + (random() < c.perRequest - Math.floor(c.perRequest) ? 1 : 0);
    for (let i = 0; i < n; i++) (c.mode === 'parallel' ? par : seq).push(c.url);
  }
  for (const url of seq) if (!(await call(url, path))) return false;
  const results = await Promise.all(par.map((url) => call(url, path)));
  return results.every(Boolean);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/healthz') {
    finish(res, shuttingDown ? 503 : 200, '{"ok":true}');
    return;
  }
  if (req.url === '/metrics') {
    void registry.metrics().then((body) => {
      res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  inFlight++;
  const arrived = performance.now();
  const respond = (status: number, body: string): void => {
    finish(res, status, body);
    requests.inc({ code: String(status) });
    duration.observe((performance.now() - arrived) / 1000);
    inFlight--;
    served++;
    if (shuttingDown) maybeExit();
  };
  if (workMs === 0 && calls.length === 0) {
    respond(failRate > 0 && random() < failRate ? 500 : 200, '{"ok":true}');
    return;
  }
  acquire((slot) => {
    const started = performance.now();
    slot.run(serviceTime(), () => {
      release(slot);
      const now = performance.now();
      const failed = failRate > 0 && random() < failRate;
      const body = `"waitMs":${(started - arrived).toFixed(2)},"workMs":${(now - started).toFixed(2)}`;
      if (failed || calls.length === 0) {
        respond(failed ? 500 : 200, `{"ok":${!failed},${body}}`);
        return;
      }
      void makeCalls(req.url ?? '/').then((ok) =>
        respond(
          ok ? 200 : 502,
          `{"ok":${ok},${body},"callsMs":${(performance.now() - now).toFixed(2)}${ok ? '' : ',"error":"a call failed"'}}`,
        ),
      );
    });
  });
}

const server = createServer({ keepAliveTimeout: 65_000 }, handle);

function maybeExit(): void {
  server.closeIdleConnections();
  if (inFlight > 0) return;
  void Promise.all(allSlots.map((s) => s.close())).then(() => {
    process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'stopped', served })}\n`);
    process.exit(0);
  });
}

function shutdown(signal: string): void {
  if (shuttingDown) return;
  shuttingDown = true;
  process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'draining', signal, inFlight })}\n`);
  server.close(); // stop accepting; in-flight requests still finish
  maybeExit();
  // A client that holds a request open forever must not keep us alive forever.
  setTimeout(() => process.exit(0), 30_000).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

server.on('error', (err) => fail(`listen on ${host}:${port}: ${err.message}`));
server.listen(port, host, () => {
  const addr = server.address() as AddressInfo;
  const capacityRps = workMs > 0 ? (concurrency * 1000) / workMs : null;
  process.stdout.write(
    `${JSON.stringify({
      level: 'info',
      msg: 'listening',
      url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
      port: addr.port,
      pid: process.pid,
      workMs,
      concurrency,
      workMode: mode,
      workDist: distRaw,
      ...(dist.kind === 'lognormal' ? { workCv: dist.cv } : {}),
      failRate,
      ...(calls.length > 0 ? { calls } : {}),
      capacityRps,
    })}\n`,
  );
});
