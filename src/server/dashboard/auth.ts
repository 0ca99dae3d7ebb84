// Who may talk to the status server (dashboard, /api/*, /metrics).
//
//   listen on loopback (127.0.0.1, ::1, localhost), no token  → open, but only for Host headers that
//                                                              name a loopback address (a web page
//                                                              elsewhere cannot DNS-rebind to it)
//   listen on anything else (0.0.0.0, ::, 10.1.2.3, a name)  → a token is REQUIRED to start
//   a token is set                                           → every request but /healthz carries
//                                                              `Authorization: Bearer <token>` or
//                                                              `?token=<token>` (EventSource cannot
//                                                              send headers), else 401
//   POST/PUT/PATCH/DELETE with an Origin that is not the Host → 403 (a page elsewhere cannot
//                                                              write, token or not)
//   a blank token or one with whitespace                     → HR_TOKEN_REQUIRED at start
//
// Tokens are compared in constant time: both sides are hashed to 32 bytes first, so neither the
// content nor the length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HeadroomError } from '../../core/errors.ts';

/** A token shorter than this is refused: 16 random characters is the least worth guarding a port with. */
export const MIN_TOKEN_LENGTH = 16;

/** The environment variable read when `--token` is not given. */
export const TOKEN_ENV = 'HEADROOM_TOKEN';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h.startsWith('::ffff:')) h = h.slice('::ffff:'.length);
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || h === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Checks the listen address against the token before anything starts. Returns the token to use
 * (undefined = open, loopback only). Throws HR_TOKEN_REQUIRED with the key to fix.
 */
export function resolveToken(
  listenHost: string,
  token: string | undefined,
  opts: { flag?: string; env?: NodeJS.ProcessEnv } = {},
): string | undefined {
  const flag = opts.flag ?? '--token';
  const value = token ?? opts.env?.[TOKEN_ENV];
  const t = value === undefined || value === '' ? undefined : value;
  // 16 spaces passed the length rule; a token with whitespace can never be sent back anyway
  // (`Authorization: Bearer X` carries one word), and a blank one is a quoting mistake.
  if (t !== undefined && (/\s/.test(t) || [...t].some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\u007f'))) {
    const blank = t.trim() === '';
    throw new HeadroomError({
      code: 'HR_TOKEN_REQUIRED',
      path: token !== undefined ? flag : TOKEN_ENV,
      value: `${t.length} characters${blank ? ', all whitespace' : ''}`,
      message: blank
        ? 'the dashboard token is blank (only whitespace)'
        : 'the dashboard token contains whitespace or control characters',
      allowed: `at least ${MIN_TOKEN_LENGTH} printable characters without spaces, e.g. $(openssl rand -hex 16)`,
    });
  }
  if (t !== undefined && t.length < MIN_TOKEN_LENGTH) {
    throw new HeadroomError({
      code: 'HR_TOKEN_REQUIRED',
      path: token !== undefined ? flag : TOKEN_ENV,
      value: `${t.length} characters`,
      message: `the dashboard token is too short`,
      allowed: `at least ${MIN_TOKEN_LENGTH} characters, e.g. $(openssl rand -hex 16)`,
    });
  }
  if (t === undefined && !isLoopbackHost(listenHost)) {
    throw new HeadroomError({
      code: 'HR_TOKEN_REQUIRED',
      path: flag,
      value: listenHost,
      message: `listening on ${listenHost} (not loopback) exposes the status server and dashboard to the network: give a token with ${flag === '--token' ? flag : `--token, ${flag}`} or ${TOKEN_ENV}`,
      allowed: `a loopback address (127.0.0.1, ::1, localhost), or a token of at least ${MIN_TOKEN_LENGTH} characters`,
    });
  }
  return t;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time token comparison (equal-length digests, timingSafeEqual). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token a request carries: `Authorization: Bearer X` first, then `?token=X`. */
export function requestToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (m) return m[1];
  }
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' ? q : undefined;
}

/** Paths that answer without a token: liveness probes must work for kubelet and supervisors. */
const OPEN_PATHS = new Set(['/healthz']);

export interface AuthOptions {
  /** When set, every request but /healthz must carry it. */
  token?: string | undefined;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A state-changing request from a browser page of another origin: its Origin header names a
 * scheme://host:port other than the Host this request was sent to. Same-origin pages send an
 * Origin equal to it; clients that are not browsers (curl, scripts) send none and pass.
 */
export function crossOrigin(method: string, origin: string | undefined, host: string | undefined): boolean {
  if (!STATE_CHANGING.has(method.toUpperCase()) || origin === undefined) return false;
  if (!host) return true;
  let o: URL;
  try {
    o = new URL(origin); // "null" (sandboxed frames, file:) does not parse: cross-origin
  } catch {
    return true;
  }
  if (o.protocol !== 'http:' && o.protocol !== 'https:') return true;
  const want = host.trim().toLowerCase();
  const dflt = o.protocol === 'https:' ? ':443' : ':80';
  return o.host !== want && `${o.host}${dflt}` !== want;
}

/** The onRequest hook applied to every route of the status server. */
export function authHook(opts: AuthOptions) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const path = req.url.split('?')[0] ?? '/';
    if (OPEN_PATHS.has(path)) return;
    // Before the token: a page elsewhere must not drive the dashboard's write actions even
    // through a browser that holds the token in a URL.
    const origin = req.headers.origin;
    if (crossOrigin(req.method, origin, req.headers.host)) {
      await reply.code(403).send({
        error: 'forbidden',
        message: `cross-origin ${req.method} refused: Origin ${String(origin).slice(0, 200)} is not this server (${String(req.headers.host ?? 'no Host').slice(0, 200)})`,
      });
      return;
    }
    if (opts.token === undefined) {
      // Open on loopback only: refuse other Host names (DNS rebinding from a web page).
      const host = hostName(req.headers.host);
      if (host !== undefined && !isLoopbackHost(host)) {
        await reply
          .code(403)
          .send({ error: 'forbidden', message: `Host ${host} is not a loopback name; use 127.0.0.1 or set a token` });
      }
      return;
    }
    if (!tokenMatches(requestToken(req), opts.token)) {
      await reply.code(401).header('www-authenticate', 'Bearer realm="headroom"').send({
        error: 'unauthorized',
        message: 'a token is required: Authorization: Bearer <token> or ?token=<token>',
      });
    }
  };
}

function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.split(':')[0];
}
