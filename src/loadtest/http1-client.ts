// A keep-alive HTTP/1.1 connection pool on raw node:net / node:tls sockets, made for one job: send
// the same pre-serialised request again and again and learn each response's status and end.
//
// Why not undici: per request it builds a request object, validates and writes the headers, and
// runs parser callbacks; that capped the generator at ~10.6k rps on one core where autocannon (a
// prebuilt buffer per socket) reached 19.2k (docs/benchmarks.md#loadtest). Here a request is one
// socket.write of bytes built once per step, and a response is parsed in place in a per-socket read
// buffer (net's `onread`, no allocation per read); the body is skipped.
//
// One request in flight per connection (no pipelining); requests beyond `connections` wait in a FIFO
// queue. A request's timeout (connect + headers + body) starts when it is given a connection. An
// idempotent request whose reused socket closes before any response byte (the server's keep-alive
// timeout racing our write) is sent once more on a new socket; nothing else is retried.
// Errors carry the codes classifyError knows: socket codes (ECONNREFUSED, ECONNRESET, TLS codes),
// HPE_* for bytes that are not HTTP, REQUEST_TIMEOUT, CONNECTION_CLOSED, ABORT_ERR.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ResponseParser } from './http1-parser.ts';

export interface PreparedRequest {
  /** The whole request: request line, headers, body. */
  bytes: Buffer;
  /** A HEAD request: responses carry no body. */
  head: boolean;
  /** Safe to send again when a reused connection closed before any byte of the response. */
  idempotent: boolean;
  timeoutMs: number;
}

/** Called exactly once per request, never synchronously from dispatch(). */
export interface ResponseHandler {
  /** The whole response arrived (any status). */
  onResponse(status: number): void;
  onError(err: Error): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Serialise a request once; header values must not contain CR, LF or NUL. */
export function prepareRequest(
  url: URL,
  req: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number },
): PreparedRequest {
  const lines = [`${req.method} ${url.pathname}${url.search} HTTP/1.1`];
  const names = new Set(Object.keys(req.headers).map((k) => k.toLowerCase()));
  if (!names.has('host')) lines.push(`host: ${url.host}`);
  for (const [k, v] of Object.entries(req.headers)) {
    if (/[\r\n\0]/.test(k) || /[\r\n\0]/.test(v)) throw new TypeError(`invalid header ${JSON.stringify(k)}`);
    if (k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding') continue; // set below
    lines.push(`${k}: ${v}`);
  }
  const body = req.body !== undefined ? Buffer.from(req.body) : undefined;
  // Like undici: a body's length always; 0 for an empty POST/PUT/PATCH so the server does not wait.
  if (body || ['POST', 'PUT', 'PATCH'].includes(req.method)) lines.push(`content-length: ${body?.length ?? 0}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return {
    bytes: body ? Buffer.concat([head, body]) : head,
    head: req.method === 'HEAD',
    idempotent: IDEMPOTENT.has(req.method),
    timeoutMs: req.timeoutMs,
  };
}

function codedError(code: string, message: string, name = 'Error'): Error {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  err.name = name;
  return err;
}

interface Queued {
  p: PreparedRequest;
  h: ResponseHandler;
  retried: boolean;
}

class Connection {
  socket: Socket | null = null;
  /** Responses completed on the current socket (0: fresh, > 0: reused). */
  served = 0;
  p: PreparedRequest | null = null;
  h: ResponseHandler | null = null;
  retried = false;
  gotBytes = false;
  deadline = 0;
  readonly parser = new ResponseParser();
  /** The read buffer net fills in place (plain HTTP); the parser copies nothing from it but a split head. */
  readonly buf = Buffer.allocUnsafe(16 * 1024);
}

/**
 * Timeouts are checked by one sweep over the connections, not a timer per request. Deadlines use
 * performance.now() directly (not the Clock port): this is the load generator's hot path.
 */
const SWEEP_MS = 10;

export class Http1Client {
  readonly url: URL;
  private readonly tls: boolean;
  private readonly host: string;
  private readonly port: number;
  private readonly max: number;
  private readonly conns: Connection[] = [];
  private readonly idle: Connection[] = [];
  private queue: Queued[] = [];
  private queueHead = 0;
  private busy = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private destroyed = false;

  constructor(url: URL, opts: { connections: number }) {
    this.url = url;
    this.tls = url.protocol === 'https:';
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // [::1] → ::1
    this.port = url.port ? Number(url.port) : this.tls ? 443 : 80;
    this.max = Math.max(1, opts.connections);
  }

  /** Send a request: on a free connection now, else when one frees up. */
  dispatch(p: PreparedRequest, h: ResponseHandler): void {
    if (this.destroyed) {
      process.nextTick(() => h.onError(codedError('CONNECTION_CLOSED', 'the client is closed')));
      return;
    }
    const c = this.idle.pop() ?? (this.conns.length < this.max ? this.newConnection() : undefined);
    if (c) this.start(c, p, h, false);
    else this.queue.push({ p, h, retried: false });
  }

  /** One request as a promise of its status (the probe); `signal` aborts everything in flight. */
  request(p: PreparedRequest, signal?: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(codedError('ABORT_ERR', 'aborted', 'AbortError'));
        return;
      }
      const onAbort = (): void => this.abortAll();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatch(p, {
        onResponse: (status) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(status);
        },
        onError: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      });
    });
  }

  /** Fail every queued and in-flight request with an AbortError; their connections are closed. */
  abortAll(): void {
    const victims: ResponseHandler[] = [];
    for (let i = this.queueHead; i < this.queue.length; i++) victims.push(this.queue[i]!.h);
    this.queue = [];
    this.queueHead = 0;
    for (const c of this.conns) {
      if (!c.h) continue;
      victims.push(c.h);
      this.closeConn(c);
      this.release(c);
    }
    const err = codedError('ABORT_ERR', 'the request was aborted', 'AbortError');
    for (const h of victims) h.onError(err);
  }

  /** Abort everything and close every socket. */
  destroy(): Promise<void> {
    this.abortAll();
    this.destroyed = true;
    for (const c of this.conns) this.closeConn(c);
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    return Promise.resolve();
  }

  /** Same as destroy() (undici's Pool had both). */
  close(): Promise<void> {
    return this.destroy();
  }

  private newConnection(): Connection {
    const c = new Connection();
    this.conns.push(c);
    return c;
  }

  private start(c: Connection, p: PreparedRequest, h: ResponseHandler, retried: boolean): void {
    c.p = p;
    c.h = h;
    c.retried = retried;
    c.gotBytes = false;
    c.deadline = performance.now() + p.timeoutMs;
    c.parser.reset(p.head);
    this.busy++;
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    (c.socket ?? this.connect(c)).write(p.bytes);
  }

  private connect(c: Connection): Socket {
    let s: Socket;
    if (this.tls) {
      s = tlsConnect({
        host: this.host,
        port: this.port,
        rejectUnauthorized: false, // load tests often target self-signed endpoints
        ...(isIP(this.host) ? {} : { servername: this.host }),
        ALPNProtocols: ['http/1.1'],
      });
      s.on('data', (b: Buffer) => this.onData(c, s, b, b.length));
    } else {
      s = netConnect({
        host: this.host,
        port: this.port,
        onread: { buffer: c.buf, callback: (n: number, b: Uint8Array) => this.onData(c, s, b as Buffer, n) },
      });
    }
    s.setNoDelay(true);
    s.on('error', (err) => this.onGone(c, s, err));
    s.on('close', () => this.onGone(c, s, undefined));
    c.socket = s;
    c.served = 0;
    return s;
  }

  private onData(c: Connection, s: Socket, buf: Buffer, n: number): boolean {
    if (c.socket !== s) return false;
    const h = c.h;
    if (!h) {
      // Bytes nobody asked for (e.g. a 408 before an idle close): this socket is not reusable.
      this.closeConn(c);
      return false;
    }
    c.gotBytes = true;
    let end: number;
    try {
      end = c.parser.execute(buf, 0, n);
    } catch (err) {
      this.fail(c, err as Error);
      return false;
    }
    if (end >= 0) this.complete(c, h, end === n);
    return true;
  }

  private complete(c: Connection, h: ResponseHandler, clean: boolean): void {
    const status = c.parser.status;
    c.served++;
    // Extra bytes after the response would belong to no request: do not reuse such a socket either.
    if (!c.parser.keepAlive || !clean) this.closeConn(c);
    this.release(c);
    h.onResponse(status);
  }

  /** The socket closed or failed. */
  private onGone(c: Connection, s: Socket, err: Error | undefined): void {
    if (c.socket !== s) return;
    c.socket = null;
    const h = c.h;
    if (!h) return;
    if (!err && c.parser.finish()) {
      this.complete(c, h, true);
      return;
    }
    // A reused keep-alive socket the server closed just as we wrote: send once more on a new one.
    if (!c.gotBytes && c.served > 0 && !c.retried && c.p?.idempotent) {
      const p = c.p;
      this.release(c, true);
      this.queue.splice(this.queueHead, 0, { p, h, retried: true });
      this.drain();
      return;
    }
    this.fail(c, err ?? codedError('CONNECTION_CLOSED', 'the connection closed before the response ended'));
  }

  private fail(c: Connection, err: Error): void {
    const h = c.h!;
    this.closeConn(c);
    this.release(c);
    h.onError(err);
  }

  private closeConn(c: Connection): void {
    const s = c.socket;
    c.socket = null;
    s?.destroy();
  }

  /** The connection is free: give it the next queued request, else park it. */
  private release(c: Connection, noDrain = false): void {
    c.p = null;
    c.h = null;
    this.busy--;
    const next = noDrain ? undefined : this.shift();
    if (next) this.start(c, next.p, next.h, next.retried);
    else this.idle.push(c);
  }

  private drain(): void {
    while (this.queueHead < this.queue.length && this.idle.length > 0) {
      const next = this.shift()!;
      this.start(this.idle.pop()!, next.p, next.h, next.retried);
    }
  }

  private shift(): Queued | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const q = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = undefined as unknown as Queued;
    // Compact now and then so the array does not grow without bound.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return q;
  }

  private sweep(): void {
    if (this.busy === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      return;
    }
    const now = performance.now();
    for (const c of this.conns) {
      if (c.h && now >= c.deadline) {
        this.fail(c, codedError('REQUEST_TIMEOUT', `no complete response within ${c.p?.timeoutMs ?? 0} ms`));
      }
    }
  }
}
