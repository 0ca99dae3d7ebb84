// The load balancer of local mode: one address:port in front of the instances, an HTTP reverse
// proxy with keep-alive connections to them. It sends each request to a ready instance, either the
// one with the fewest requests outstanding (leastRequests) or a random one (random: N separate
// M/G/c queues, as the core models kube-proxy), and measures what it sees: arrivals, in flight,
// latency, errors (RequestWindows).
//
// leastRequests with `slots` (an instance's concurrency c): an instance never has more than c
// requests in flight; the rest wait here, in arrival order, for the first slot that frees (HAProxy's
// per-server maxconn queue, Knative's activator with containerConcurrency). The pool is then the
// one queue of N·c servers the core's model assumes, M/G/(N·c). Without slots a request goes at
// once to the least busy instance and waits in that instance's own queue (join-the-shortest-queue):
// for 4 instances of one slot at 55 % load, p99 97 → 109 ms for exponential times and 183 → 261 ms
// for lognormal CV 2 (docs/benchmarks.md), since a request can wait behind a long one while
// another instance frees first.
// Latency and connection idle times are measured with performance.now() (ms, per request), not
// the Clock port: they are measurements of real requests, and the port would only convert units.
//
// Retries: only requests that never reached an instance (connection refused/reset before any
// byte of the answer, on a reused keep-alive socket or a fresh connect) and only idempotent
// methods (GET HEAD PUT DELETE OPTIONS), with their body buffered up to 1 MiB. A POST is never
// sent twice.
//
// No instance ready (all restarting, or scaling from a crash), or every slot taken: requests wait up
// to `queueTimeoutMs` from their arrival, like Knative's activator, then get 503.
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { listenError } from '../server/listen-error.ts';
import type { RequestWindows } from '../adapters/metrics/proxy/windows.ts';
import type { Target } from './supervisor.ts';

export type BalancingMode = 'leastRequests' | 'random';

export interface TargetSource {
  readyTargets(): readonly Target[];
  onChange(fn: () => void): () => void;
}

export interface BalancerOptions {
  host: string;
  port: number;
  mode: BalancingMode;
  targets: TargetSource;
  windows: RequestWindows;
  /** Wait this long for a ready instance (or a free slot) before answering 503 (ms). */
  queueTimeoutMs?: number;
  /** leastRequests: at most this many requests in flight per instance, the rest queued here (FIFO). */
  slots?: number;
  /** Extra attempts for idempotent requests that never reached an instance. */
  maxRetries?: number;
  /** Answer 504 when an instance sends no response head within this (ms); 0 = no limit. */
  upstreamTimeoutMs?: number;
  /** Random source in [0, 1) (tests pass a seeded one). */
  random?: () => number;
  /** Every finished request: latency ms and status (0 = the client got no answer). */
  onComplete?: (latencyMs: number, status: number) => void;
}

export interface InstanceTraffic {
  inFlight: number;
  requests: number;
  errors: number;
}

/** A request waiting for an instance: the endpoints it must not use (tried), and how to hand it one. */
interface Waiter {
  exclude: ReadonlySet<string>;
  grant: (t: Target | undefined) => void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const RETRY_BODY_LIMIT = 1 << 20;
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];
// Draining (close): a connection idle this long is ended; all are gone after the limit.
const IDLE_CLOSE_MS = 250;
const DRAIN_LIMIT_MS = 2000;
// Errors where the request certainly did not reach the application.
const NEVER_REACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * What a retry excludes: the process tried, not the instance's name. A crashed instance restarts
 * under its id on a new port, and a request it refused belongs there once it is ready.
 */
const endpoint = (t: Target): string => `${t.host}:${t.port}`;

export class LoadBalancer {
  private readonly opts: Required<Omit<BalancerOptions, 'slots'>>;
  /** Requests one instance may have in flight (Infinity: no limit). */
  private readonly slots: number;
  private server?: Server;
  private readonly traffic = new Map<string, InstanceTraffic>();
  /**
   * Slots taken per process (endpoint), not per instance id: while a hung instance's replacement
   * (same id, new port) is ready, the old process's requests must not fill the new one's slots.
   */
  private readonly busy = new Map<string, number>();
  /** Requests waiting for an instance or a slot, oldest first. */
  private readonly waiting: Waiter[] = [];
  private readonly sockets = new Set<Socket>();
  /** Per client connection: requests being answered on it, and since when it is idle (ms). */
  private readonly conn = new WeakMap<Socket, { busy: number; idleSince: number }>();
  /** Responses not yet finished, so a drain can still mark them `Connection: close`. */
  private readonly answering = new Set<ServerResponse>();
  // Keep-alive to the instances; idle sockets close after 4 s, before Node servers' 5 s default.
  private readonly agent = new Agent({ keepAlive: true, timeout: 4000, maxFreeSockets: 1024 });
  private readonly offChange: () => void;
  private closing = false;

  constructor(options: BalancerOptions) {
    const { slots, ...rest } = options;
    this.opts = {
      queueTimeoutMs: 10_000,
      maxRetries: 2,
      upstreamTimeoutMs: 0,
      random: Math.random,
      onComplete: () => undefined,
      ...rest,
    };
    this.slots = rest.mode === 'leastRequests' && slots !== undefined ? slots : Infinity;
    this.offChange = this.opts.targets.onChange(() => this.dispatch());
  }

  /** Requests wait here for a free slot when every instance is busy (leastRequests with slots). */
  get holds(): boolean {
    return this.slots !== Infinity;
  }

  /** Where requests wait, as `run.queue` names it: here, or in each instance's own queue. */
  get queue(): 'balancer' | 'instances' {
    return this.holds ? 'balancer' : 'instances';
  }

  /** Requests waiting here for an instance or a slot. */
  queued = (): number => this.waiting.length;

  /** Requests in flight to instance `id`, on any of its processes (the supervisor's drain waits for 0). */
  inFlight = (id: string): number => this.traffic.get(id)?.inFlight ?? 0;

  trafficOf(id: string): InstanceTraffic {
    return this.traffic.get(id) ?? { inFlight: 0, requests: 0, errors: 0 };
  }

  /** Listen; fails with HR_PORT_IN_USE when the port is taken. Returns the bound address. */
  listen(): Promise<{ host: string; port: number; url: string }> {
    const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.handle(req, res));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      this.conn.set(s, { busy: 0, idleSince: performance.now() });
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    return new Promise((res, rej) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const at = { what: 'the load balancer', host: this.opts.host, port: this.opts.port };
        rej(listenError(err, { ...at, portKey: 'run.port', hostKey: 'run.host' }) ?? err);
      });
      server.listen(this.opts.port, this.opts.host, () => {
        const a = server.address() as AddressInfo;
        res({ host: a.address, port: a.port, url: `http://${a.address}:${a.port}` });
      });
    });
  }

  /**
   * Drain, then close. Cutting idle keep-alive connections at once (what http.Server.close() does
   * since Node 19) resets the request a client is writing on one at that moment: 9 resets in one
   * run under load. Instead: stop accepting connections; answer every request still arriving on
   * an open one, and every answer not yet sent, with `Connection: close` (the client then knows
   * not to reuse it, and the connection ends after the answer); end (FIN, not RST) connections
   * idle for 250 ms; destroy what is left after 2 s.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.offChange();
    this.dispatch();
    for (const r of this.answering) if (!r.headersSent) r.shouldKeepAlive = false;
    const server = this.server;
    if (server) {
      await new Promise<void>((res) => {
        // net.Server's close: stop listening, leave the open connections to the loop below.
        NetServer.prototype.close.call(server, () => res());
        const started = performance.now();
        const sweep = setInterval(() => {
          const now = performance.now();
          for (const s of this.sockets) {
            const c = this.conn.get(s);
            if (now - started >= DRAIN_LIMIT_MS) s.destroy();
            else if (c && c.busy === 0 && now - c.idleSince >= IDLE_CLOSE_MS) s.end();
          }
          if (this.sockets.size === 0 || now - started >= DRAIN_LIMIT_MS) clearInterval(sweep);
        }, 25);
        sweep.unref();
      });
    }
    this.agent.destroy();
  }

  /** The ready instance with a free slot for `exclude`'s request, by the mode; undefined when none. */
  private pick(exclude: ReadonlySet<string>): Target | undefined {
    const ready = this.opts.targets.readyTargets().filter((t) => !exclude.has(endpoint(t)));
    if (ready.length === 0) return undefined;
    if (this.opts.mode === 'random') return ready[Math.floor(this.opts.random() * ready.length)];
    // Least outstanding requests; ties broken at random so equal instances share the load.
    let best: Target[] = [];
    let min = Infinity;
    for (const t of ready) {
      const n = this.busy.get(endpoint(t)) ?? 0;
      if (n < min) {
        min = n;
        best = [t];
      } else if (n === min) best.push(t);
    }
    if (min >= this.slots) return undefined;
    return best[Math.floor(this.opts.random() * best.length)];
  }

  /** Draining with no instance ready: nothing will serve a waiting request. */
  private abandoned(): boolean {
    return this.closing && this.opts.targets.readyTargets().length === 0;
  }

  /** Count a request in flight on `t` from the moment it is granted, so no slot is given twice. */
  private reserve(t: Target): void {
    const tr = this.traffic.get(t.id) ?? { inFlight: 0, requests: 0, errors: 0 };
    this.traffic.set(t.id, tr);
    tr.inFlight++;
    tr.requests++;
    const key = endpoint(t);
    this.busy.set(key, (this.busy.get(key) ?? 0) + 1);
  }

  /** A reserved slot ends (the answer, an error, or a request never sent); the next waiter gets it. */
  private free(t: Target, failed: boolean, unsent: boolean): void {
    const id = t.id;
    const tr = this.traffic.get(id);
    if (!tr) return;
    tr.inFlight--;
    const key = endpoint(t);
    const left = (this.busy.get(key) ?? 1) - 1;
    if (left > 0) this.busy.set(key, left);
    else this.busy.delete(key);
    if (unsent) tr.requests--;
    if (failed) tr.errors++;
    // Forget instances that are gone, so the map does not grow with restarts.
    if (tr.inFlight === 0 && !this.opts.targets.readyTargets().some((t) => t.id === id)) this.traffic.delete(id);
    this.dispatch();
  }

  /**
   * Hand free slots to waiting requests, oldest first (one that was refused by every instance it
   * may still try does not hold up the next). While draining with no instance ready, fail them.
   */
  private dispatch(): void {
    const failAll = this.abandoned();
    // Once one first try finds no slot, none will: only retries (other exclusions) are still looked at,
    // so a release scans the instances once however long the queue, not once per waiting request.
    let full = false;
    for (let i = 0; i < this.waiting.length;) {
      const w = this.waiting[i]!;
      const first = w.exclude.size === 0;
      const t = failAll || (first && full) ? undefined : this.pick(w.exclude);
      if (!t && first) full = true;
      if (t || failAll) {
        this.waiting.splice(i, 1);
        w.grant(t);
      } else i++;
    }
  }

  /**
   * An instance for this request, its slot reserved, waiting until `deadline` (behind the requests
   * already waiting) for one; undefined when none was ready or free in time.
   */
  private acquire(exclude: ReadonlySet<string>, deadline: number, res: ServerResponse): Promise<Target | undefined> {
    // A retry (exclude not empty) is older than every request waiting: it does not queue behind them.
    const retry = exclude.size > 0;
    const now = this.waiting.length === 0 || retry ? this.pick(exclude) : undefined;
    if (now) {
      this.reserve(now);
      return Promise.resolve(now);
    }
    if (this.abandoned()) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      // Timed out, or the client went away while waiting: leave the queue without a slot.
      const leave = (): void => {
        clearTimeout(timer);
        res.off('close', leave);
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(undefined);
      };
      const w: Waiter = {
        exclude,
        grant: (t) => {
          clearTimeout(timer);
          res.off('close', leave);
          if (t) this.reserve(t);
          resolve(t);
        },
      };
      const timer = setTimeout(leave, Math.max(1, deadline - performance.now()));
      res.once('close', leave);
      if (retry) this.waiting.unshift(w);
      else this.waiting.push(w);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    // Draining: answer, then close this connection (Node sends `Connection: close`).
    if (this.closing) res.shouldKeepAlive = false;
    const c = this.conn.get(req.socket);
    if (c) c.busy++;
    this.answering.add(res);
    res.once('close', () => {
      this.answering.delete(res);
      if (c) {
        c.busy--;
        c.idleSince = performance.now();
      }
    });
    const windows = this.opts.windows;
    windows.arrive();
    let finished = false;
    // How long it waited here for a slot (in acquire: a free slot is granted within the same turn of
    // the event loop, so that is 0, whatever the loop's lag), and when it was last handed to an
    // instance (the time after it is the instance's, with the hop).
    const sent = { waitedMs: 0, at: NaN };
    const finish = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      const ms = performance.now() - started;
      if (Number.isNaN(sent.at)) windows.complete(ms, ok);
      else windows.complete(ms, ok, { waitMs: sent.waitedMs, atInstanceMs: performance.now() - sent.at });
      this.opts.onComplete(ms, res.writableFinished ? res.statusCode : 0);
    };
    res.on('close', () => finish(res.writableFinished && res.statusCode < 500));
    void this.forward(req, res, started, sent).catch((err: unknown) => {
      this.fail(res, 502, `proxy error: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    sent: { waitedMs: number; at: number },
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const length = Number(req.headers['content-length'] ?? 0);
    const chunked = req.headers['transfer-encoding'] !== undefined;
    // Idempotent requests with a small body are buffered so they can be sent again.
    const retryable = IDEMPOTENT.has(method) && !chunked && length <= RETRY_BODY_LIMIT;
    let body: Buffer | undefined;
    if (retryable && length > 0) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
    }
    const headers = { ...req.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    const client = req.socket.remoteAddress ?? '';
    const xff = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = xff ? `${String(xff)}, ${client}` : client;
    headers['x-forwarded-host'] ??= req.headers.host ?? '';
    headers['x-forwarded-proto'] ??= 'http';
    if (chunked) headers['transfer-encoding'] = 'chunked';

    const tried = new Set<string>();
    const deadline = started + this.opts.queueTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (res.destroyed) return;
      const asked = performance.now();
      const target = await this.acquire(tried, deadline, res);
      sent.waitedMs += performance.now() - asked;
      if (res.destroyed) {
        // The client left between the grant and now: the request was never sent; free its slot.
        if (target) this.free(target, false, true);
        return;
      }
      if (!target) {
        // All were tried (retry) or none became ready in time.
        if (tried.size > 0) this.fail(res, 502, 'no instance could be reached');
        else this.fail(res, 503, `no ready instance within ${this.opts.queueTimeoutMs / 1000} s`);
        return;
      }
      tried.add(endpoint(target));
      sent.at = performance.now();
      const outcome = await this.attempt(target, req, res, method, headers, body, retryable);
      if (outcome === 'done') return;
      if (!retryable || attempt >= this.opts.maxRetries || res.destroyed) {
        this.fail(res, 502, `instance ${target.id} unreachable: ${outcome}`);
        return;
      }
    }
  }

  /** One try: 'done' when an answer (or failure after reaching the instance) was handled, else the error code. */
  private attempt(
    target: Target,
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    headers: IncomingMessage['headers'],
    body: Buffer | undefined,
    retryable: boolean,
  ): Promise<'done' | string> {
    // acquire() reserved the slot (inFlight, requests); it is freed here once, and handed on.
    let released = false;
    const release = (failed: boolean): void => {
      if (released) return;
      released = true;
      this.free(target, failed, false);
    };
    return new Promise((resolve) => {
      const up = request({
        host: target.host,
        port: target.port,
        method,
        path: req.url,
        headers,
        agent: this.agent,
        ...(this.opts.upstreamTimeoutMs > 0 ? { timeout: this.opts.upstreamTimeoutMs } : {}),
      });
      let answered = false;
      up.on('response', (ur) => {
        answered = true;
        const h = { ...ur.headers };
        for (const name of HOP_BY_HOP) delete h[name];
        res.writeHead(ur.statusCode ?? 502, ur.statusMessage, h);
        ur.pipe(res);
        ur.on('error', () => res.destroy());
        ur.on('close', () => {
          release((ur.statusCode ?? 502) >= 500 || !ur.complete);
          if (!ur.complete) res.destroy();
          resolve('done');
        });
      });
      // The agent's 4-s socket timeout is for idle keep-alive sockets; a request only times out when
      // upstreamTimeoutMs asks for it (a 5-s request was answered 504 after 4 s).
      if (this.opts.upstreamTimeoutMs > 0) {
        up.on('timeout', () => up.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })));
      }
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) return;
        const code = err.code ?? err.message;
        // Never reached the app: refused on connect, or a keep-alive socket the instance had closed.
        const neverReached =
          NEVER_REACHED.has(code) || ((code === 'ECONNRESET' || code === 'EPIPE') && up.reusedSocket);
        release(!neverReached);
        if (neverReached && retryable) {
          resolve(code);
          return;
        }
        if (code === 'ETIMEDOUT') this.fail(res, 504, `instance ${target.id} sent no answer in time`);
        else this.fail(res, 502, `instance ${target.id}: ${code}`);
        resolve('done');
      });
      // Client went away: stop the upstream request too.
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      if (body !== undefined) up.end(body);
      else if (retryable) up.end();
      else req.pipe(up);
    });
  }

  private fail(res: ServerResponse, status: number, message: string): void {
    if (res.destroyed) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify({ error: message, status });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}
