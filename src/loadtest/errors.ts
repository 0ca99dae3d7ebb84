// What a failed request was (refused, DNS, timeout, …, from its error code) and the HR_ error that
// names it for the user. Used by the step generator, the probe and the CLI.
import { HeadroomError, redactUrl } from '../core/errors.ts';
import type { RequestTemplate } from './generator.ts';

export type ErrorKind =
  | 'refused'
  | 'dns'
  | 'unreachable'
  | 'not-http'
  | 'tls'
  | 'timeout'
  | 'reset'
  | 'aborted'
  | 'http-5xx'
  | 'http-4xx'
  | 'other';

export interface ClassifiedError {
  kind: ErrorKind;
  code: string;
  message: string;
}

/** What kind of failure a client/node error is, from its code (and its cause's code). */
export function classifyError(err: unknown): ClassifiedError {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = String(e?.code ?? e?.cause?.code ?? (err as { name?: string })?.name ?? 'UNKNOWN');
  const message = String(e?.message ?? err);
  const causeMsg = e?.cause?.message ? `: ${String(e.cause.message)}` : '';
  const full = `${message}${causeMsg}`;
  const kind = ((): ErrorKind => {
    if (code === 'ECONNREFUSED') return 'refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return 'unreachable';
    // HPE_* are the response parser's codes (llhttp's names); HTTPParserError is undici's, kept for callers.
    if (code.startsWith('HPE_') || (e as { name?: string })?.name === 'HTTPParserError') return 'not-http';
    if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'EPROTO' || /\b(SSL|TLS)\b/.test(full))
      return 'tls';
    if (/TIMEOUT/.test(code)) return 'timeout';
    if (
      code === 'ECONNRESET' ||
      code === 'EPIPE' ||
      code === 'CONNECTION_CLOSED' ||
      code === 'UND_ERR_SOCKET' ||
      code === 'UND_ERR_CLOSED'
    )
      return 'reset';
    if (code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR' || (e as { name?: string })?.name === 'AbortError')
      return 'aborted';
    return 'other';
  })();
  return { kind, code, message: full };
}

const KIND_TEXT: Record<ErrorKind, string> = {
  refused: 'connection refused: nothing listens on that port',
  dns: 'the host name does not resolve',
  unreachable: 'the host is unreachable',
  'not-http': 'the port answered, but not with HTTP (is it an SSH, database or TLS port?)',
  tls: 'TLS handshake failed (an https:// URL to a plain-HTTP port, or a bad certificate)',
  timeout: 'no response within the request timeout',
  reset: 'the connection was closed or reset before a response',
  aborted: 'the request was aborted',
  'http-5xx': 'server error',
  'http-4xx': 'client error',
  other: 'the request failed',
};

/** Human text for an error kind, e.g. `refused` → "connection refused: nothing listens on that port". */
export function describeKind(kind: ErrorKind): string {
  return KIND_TEXT[kind];
}

export function targetError(req: RequestTemplate, err: unknown): HeadroomError {
  const ce = classifyError(err);
  if (ce.kind === 'aborted') {
    return new HeadroomError({ code: 'HR_LOADTEST_ABORTED', message: 'interrupted before the first response' });
  }
  const timeout = ce.kind === 'timeout';
  return new HeadroomError({
    code: timeout ? 'HR_LOADTEST_TIMEOUT' : 'HR_LOADTEST_TARGET',
    message: `${req.method} ${redactUrl(req.url)}: ${KIND_TEXT[ce.kind]}${timeout ? ` (${req.timeoutMs} ms)` : ''} [${ce.code}]`,
    value: redactUrl(req.url),
  });
}
