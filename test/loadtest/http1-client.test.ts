// The raw-socket HTTP/1.1 pool against real local servers (node:http, node:https with a self-signed
// certificate, raw node:net): keep-alive reuse, Connection: close, chunked bodies, the queue beyond
// `connections`, the retry of a stale keep-alive socket, timeouts, aborts and error codes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifyError } from '../../src/loadtest/generator.ts';
import { Http1Client, prepareRequest, type PreparedRequest } from '../../src/loadtest/http1-client.ts';

const realSetTimeout = globalThis.setTimeout;
const servers: Array<Server | NetServer | HttpsServer> = [];
const sockets: Socket[] = [];
let base = '';
let httpsBase = '';
let certDir = '';
let connectionsSeen = 0;
let lastRequest = { method: '', url: '', headers: {} as Record<string, unknown>, body: '' };

function listen(s: Server | NetServer | HttpsServer): Promise<number> {
  servers.push(s);
  s.on('connection', (sock: Socket) => sockets.push(sock));
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
}

beforeAll(async () => {
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      lastRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      if (req.url === '/chunked') {
        // No Content-Length: node sends chunked, in several writes.
        res.write('a'.repeat(3000));
        setTimeout(() => res.end('b'.repeat(70_000)), 5);
      } else if (req.url === '/close') res.setHeader('connection', 'close').end('bye');
      else if (req.url === '/hang') sockets.push(req.socket);
      else if (req.url === '/status/503') res.writeHead(503).end('no');
      else if (req.url === '/slow') setTimeout(() => res.end('slow'), 50);
      else res.end('ok');
    });
  });
  http.on('connection', () => connectionsSeen++);
  base = `http://127.0.0.1:${await listen(http)}`;

  const dir = mkdtempSync(join(tmpdir(), 'headroom-tls-'));
  certDir = dir;
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ],
    { stdio: 'ignore' },
  );
  const https = createHttpsServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (req, res) => {
      req.resume();
      res.end('secure');
    },
  );
  httpsBase = `https://localhost:${await listen(https)}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

const prep = (url: string, extra: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
  prepareRequest(new URL(url), { method: 'GET', headers: {}, timeoutMs: 2000, ...extra });

async function failure(client: Http1Client, p: PreparedRequest): Promise<{ code: string; kind: string }> {
  const err = await client.request(p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the request should fail').toBeDefined();
  const ce = classifyError(err);
  return { code: ce.code, kind: ce.kind };
}

describe('Http1Client', () => {
  it('serialises method, path, query, headers and body once; the server reads them', async () => {
    const client = new Http1Client(new URL(base), { connections: 1 });
    const p = prep(`${base}/echo?x=1`, { method: 'POST', headers: { 'x-test': 'yes' }, body: 'héllo' });
    expect(await client.request(p)).toBe(200);
    await client.destroy();
    expect(lastRequest.method).toBe('POST');
    expect(lastRequest.url).toBe('/echo?x=1');
    expect(lastRequest.headers['x-test']).toBe('yes');
    expect(lastRequest.headers.host).toBe(new URL(base).host);
    expect(lastRequest.body).toBe('héllo');
    expect(() => prep(base, { headers: { 'x-bad': 'a\r\nx-injected: 1' } })).toThrow(TypeError);
  });

  it('keeps connections alive: 200 sequential requests over one socket', async () => {
    const client = new Http1Client(new URL(base), { connections: 4 });
    const before = connectionsSeen;
    const p = prep(`${base}/`);
    for (let i = 0; i < 200; i++) expect(await client.request(p)).toBe(200);
    await client.destroy();
    expect(connectionsSeen - before).toBe(1);
  });

  it('opens at most `connections` sockets and queues the rest (all answered)', async () => {
    const client = new Http1Client(new URL(base), { connections: 3 });
    const before = connectionsSeen;
    const p = prep(`${base}/slow`);
    const statuses = await Promise.all(Array.from({ length: 12 }, () => client.request(p)));
    await client.destroy();
    expect(statuses).toEqual(Array(12).fill(200));
    expect(connectionsSeen - before).toBe(3);
  });

  it('reads chunked bodies across many reads, HEAD without body, and 5xx statuses', async () => {
    const client = new Http1Client(new URL(base), { connections: 1 });
    expect(await client.request(prep(`${base}/chunked`))).toBe(200);
    expect(await client.request(prep(`${base}/chunked`, { method: 'HEAD' }))).toBe(200);
    expect(await client.request(prep(`${base}/status/503`))).toBe(503);
    // Still the same socket: every framing above ended where it should.
    expect(await client.request(prep(`${base}/`))).toBe(200);
    await client.destroy();
  });

  it('honours Connection: close by reconnecting for the next request', async () => {
    const client = new Http1Client(new URL(base), { connections: 1 });
    const before = connectionsSeen;
    for (let i = 0; i < 5; i++) expect(await client.request(prep(`${base}/close`))).toBe(200);
    await client.destroy();
    expect(connectionsSeen - before).toBe(5);
  });

  it('https with a self-signed certificate (not verified, like the old undici pool)', async () => {
    const client = new Http1Client(new URL(httpsBase), { connections: 2 });
    expect(await client.request(prep(`${httpsBase}/`))).toBe(200);
    expect(await client.request(prep(`${httpsBase}/`))).toBe(200);
    await client.destroy();
  });

  it('retries a GET once when a reused socket closes before any response byte; a POST fails', async () => {
    // Answers the first request of each connection, then closes on the second without a byte.
    const port = await listen(
      createNetServer((sock) => {
        let n = 0;
        sock.on('error', () => undefined);
        sock.on('data', () => {
          if (++n === 1) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          else sock.destroy();
        });
      }),
    );
    const url = `http://127.0.0.1:${port}/`;
    const client = new Http1Client(new URL(url), { connections: 1 });
    expect(await client.request(prep(url))).toBe(200);
    expect(await client.request(prep(url))).toBe(200); // closed, retried on a fresh socket
    expect(await failure(client, prep(url, { method: 'POST', body: 'x' }))).toMatchObject({ kind: 'reset' });
    await client.destroy();
  });

  it('error kinds: refused, not HTTP, TLS to a plain port, closed mid-body', async () => {
    const tmp = createNetServer();
    const refusedPort = await new Promise<number>((r) =>
      tmp.listen(0, '127.0.0.1', () => r((tmp.address() as AddressInfo).port)),
    );
    await new Promise((r) => tmp.close(r));
    const refused = `http://127.0.0.1:${refusedPort}/`;
    expect(await failure(new Http1Client(new URL(refused), { connections: 1 }), prep(refused))).toEqual({
      code: 'ECONNREFUSED',
      kind: 'refused',
    });

    const sshPort = await listen(
      createNetServer((sock) => {
        sock.on('error', () => undefined);
        sock.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
      }),
    );
    const ssh = `http://127.0.0.1:${sshPort}/`;
    expect(await failure(new Http1Client(new URL(ssh), { connections: 1 }), prep(ssh))).toEqual({
      code: 'HPE_INVALID_CONSTANT',
      kind: 'not-http',
    });

    const tlsToPlain = base.replace('http:', 'https:');
    expect((await failure(new Http1Client(new URL(tlsToPlain), { connections: 1 }), prep(tlsToPlain))).kind).toBe(
      'tls',
    );

    const cutPort = await listen(
      createNetServer((sock) => {
        sock.on('error', () => undefined);
        sock.once('data', () => sock.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part'));
      }),
    );
    const cut = `http://127.0.0.1:${cutPort}/`;
    expect(await failure(new Http1Client(new URL(cut), { connections: 1 }), prep(cut))).toEqual({
      code: 'CONNECTION_CLOSED',
      kind: 'reset',
    });
  });

  it('a request with no answer fails with REQUEST_TIMEOUT at its timeout, not before (fake clock)', async () => {
    // Fake performance.now and the sweep's interval; the socket and the server are real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    try {
      const client = new Http1Client(new URL(base), { connections: 1 });
      const hang = prepareRequest(new URL(`${base}/hang`), { method: 'GET', headers: {}, timeoutMs: 300 });
      lastRequest.url = '';
      let result: unknown;
      void failure(client, hang).then((r) => (result = r));
      // Real time passes until the server holds it (vi.waitFor would step the fake clock).
      for (let i = 0; i < 500 && lastRequest.url !== '/hang'; i++) await new Promise((r) => realSetTimeout(r, 10));
      expect(lastRequest.url).toBe('/hang');
      await vi.advanceTimersByTimeAsync(290);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(20); // the first 10 ms sweep at or after 300 ms
      expect(result).toEqual({ code: 'REQUEST_TIMEOUT', kind: 'timeout' });
      await client.destroy();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a body delimited by the close completes the response', async () => {
    const port = await listen(
      createNetServer((sock) => {
        sock.on('error', () => undefined);
        sock.once('data', () => sock.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'));
      }),
    );
    const url = `http://127.0.0.1:${port}/`;
    const client = new Http1Client(new URL(url), { connections: 1 });
    expect(await client.request(prep(url))).toBe(200);
    expect(await client.request(prep(url))).toBe(200); // on a new socket
    await client.destroy();
  });

  it('abortAll fails queued and in-flight requests at once with an AbortError', async () => {
    const client = new Http1Client(new URL(base), { connections: 2 });
    const p = prep(`${base}/hang`);
    const pending = Array.from({ length: 5 }, () => client.request(p).catch((e: unknown) => classifyError(e).kind));
    await new Promise((r) => setTimeout(r, 50));
    // At once: with the clock stopped (no sweep, no timeout can run), all five settle as aborted.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    try {
      client.abortAll();
      expect(await Promise.all(pending)).toEqual(Array(5).fill('aborted'));
    } finally {
      vi.useRealTimers();
    }
    // The client still works afterwards.
    expect(await client.request(prep(`${base}/`))).toBe(200);
    await client.destroy();
  });
});
