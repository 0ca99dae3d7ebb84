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
//   --work-dist / WORK_DIST      fixed | exponential (mean WORK_MS)
//   --fail-rate / FAIL_RATE      fraction of work requests answered 500 (default 0), for error tests
//
// E.g. WORK_MS=20 CONCURRENCY=4 WORK_MODE=sleep → 4 · 1000/20 = 200 rps; above that the queue grows.
// GET /healthz answers 200 at once (it does not wait in the work queue). Any other path does the work
// and answers 200 with a small JSON body. SIGTERM/SIGINT: stop accepting, finish in-flight and queued
// requests, exit 0. One JSON line on stdout when listening.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    'work-ms': { type: 'string' },
    concurrency: { type: 'string' },
    'work-mode': { type: 'string' },
    'work-dist': { type: 'string' },
    'fail-rate': { type: 'string' },
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
const workMs = num('WORK_MS', setting(values['work-ms'], 'WORK_MS', '20'), 0, 60_000);
const concurrency = num('CONCURRENCY', setting(values.concurrency, 'CONCURRENCY', '1'), 1, 10_000, true);
const mode = setting(values['work-mode'], 'WORK_MODE', 'sleep');
const dist = setting(values['work-dist'], 'WORK_DIST', 'fixed');
const failRate = num('FAIL_RATE', setting(values['fail-rate'], 'FAIL_RATE', '0'), 0, 1);
if (mode !== 'sleep' && mode !== 'cpu') fail(`WORK_MODE must be sleep or cpu, got ${JSON.stringify(mode)}`);
if (dist !== 'fixed' && dist !== 'exponential')
  fail(`WORK_DIST must be fixed or exponential, got ${JSON.stringify(dist)}`);

/** One request's service time: fixed, or exponential with mean workMs (−ln(1 − U)·mean). */
function serviceTime(): number {
  return dist === 'fixed' ? workMs : -Math.log1p(-Math.random()) * workMs;
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

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/healthz') {
    finish(res, shuttingDown ? 503 : 200, '{"ok":true}');
    return;
  }
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  inFlight++;
  const arrived = performance.now();
  const respond = (status: number, body: string): void => {
    finish(res, status, body);
    inFlight--;
    served++;
    if (shuttingDown) maybeExit();
  };
  if (workMs === 0) {
    respond(failRate > 0 && Math.random() < failRate ? 500 : 200, '{"ok":true}');
    return;
  }
  acquire((slot) => {
    const started = performance.now();
    slot.run(serviceTime(), () => {
      release(slot);
      const now = performance.now();
      const failed = failRate > 0 && Math.random() < failRate;
      respond(
        failed ? 500 : 200,
        `{"ok":${!failed},"waitMs":${(started - arrived).toFixed(2)},"workMs":${(now - started).toFixed(2)}}`,
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
      workDist: dist,
      failRate,
      capacityRps,
    })}\n`,
  );
});
