// Prometheus HTTP API client (GET /api/v1/query): one instant value per query, as ok / no-data /
// error. It never throws: an empty vector or NaN is `no-data`, a refused connection, timeout, HTTP
// error or a PromQL error is `error` (the loop counts those as metric failures). Several series are
// summed for a rate (`aggregate: 'sum'`, the default) and an error for a latency or service time
// (`aggregate: 'single'`: HR_PROMETHEUS_SERIES, as `headroom backtest` says). `range()` reads
// history (GET /api/v1/query_range) in chunks of at most 11,000 points (range.ts), the same way.
import { STATUS_CODES } from 'node:http';
import { request } from 'undici';
import type { Aggregation, MetricSample, MetricsSource, RangeAnswer, RangeSource } from '../../../ports/metrics.ts';
import { chunkRange, labelText, mergeChunks, type RangeSeries } from './range.ts';

export interface PrometheusConfig {
  /** Base URL, e.g. http://127.0.0.1:9090 (a path prefix such as /prometheus is kept). */
  url: string;
  /** Per-query timeout, ms (default 5000). */
  timeoutMs?: number;
  /** Extra headers, e.g. Authorization for a proxy in front of Prometheus. */
  headers?: Record<string, string>;
}

interface PromResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

type PromValue = [number, string];

/** What one GET answered: the `data` of a success, or why not. */
type Answer =
  | { kind: 'ok'; data: PromResponse['data'] }
  | { kind: 'error'; reason: string; status?: number; unreachable?: boolean };

export class PrometheusSource implements MetricsSource, RangeSource {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;

  constructor(config: PrometheusConfig) {
    this.#base = config.url.replace(/\/+$/, '');
    this.#timeoutMs = config.timeoutMs ?? 5000;
    this.#headers = { accept: 'application/json', ...config.headers };
  }

  async sample(query: string, options: { signal?: AbortSignal; aggregate?: Aggregation } = {}): Promise<MetricSample> {
    const a = await this.#get('/api/v1/query', { query }, options.signal);
    if (a.kind === 'error')
      return { kind: 'error', reason: a.reason, ...(a.status !== undefined ? { status: a.status } : {}) };
    return interpret(a.data, options.aggregate ?? 'sum');
  }

  /**
   * The series of `query` at start, start + step, … ≤ end (seconds), one request per 11,000
   * points, each with the per-query timeout. The first failing chunk is the answer (no partial
   * matrix: a half-read history would look like a gap).
   */
  async range(
    query: string,
    r: { start: number; end: number; step: number },
    options: { signal?: AbortSignal } = {},
  ): Promise<RangeAnswer> {
    const chunks: RangeSeries[][] = [];
    for (const c of chunkRange(r.start, r.end, r.step)) {
      const params = { query, start: String(c.start), end: String(c.end), step: String(r.step) };
      const a = await this.#get('/api/v1/query_range', params, options.signal);
      if (a.kind === 'error') return a;
      if (a.data?.resultType !== 'matrix' || !Array.isArray(a.data.result)) {
        return {
          kind: 'error',
          reason: `query_range answered a ${a.data?.resultType ?? 'missing'} result, not a matrix`,
        };
      }
      chunks.push(
        (a.data.result as Array<{ metric?: Record<string, string>; values?: PromValue[] }>).map((m) => ({
          labels: m.metric ?? {},
          values: (m.values ?? []).map(([t, v]): [number, number] => [t, Number(v)]),
        })),
      );
    }
    return { kind: 'ok', series: mergeChunks(chunks) };
  }

  async #get(path: string, params: Record<string, string>, signal: AbortSignal | undefined): Promise<Answer> {
    const url = `${this.#base}${path}?${new URLSearchParams(params).toString()}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signals = [timeout, ...(signal ? [signal] : [])];
    let status: number;
    let body: PromResponse;
    try {
      const res = await request(url, { method: 'GET', headers: this.#headers, signal: AbortSignal.any(signals) });
      status = res.statusCode;
      const text = await res.body.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (typeof parsed !== 'object' || parsed === null) {
        return {
          kind: 'error',
          status,
          reason: `${httpStatus(status)}: not a Prometheus API answer: ${excerpt(text)}`,
        };
      }
      body = parsed as PromResponse;
    } catch (err) {
      const why = failure(err, {
        host: new URL(this.#base).host,
        timeoutMs: this.#timeoutMs,
        timedOut: timeout.aborted,
      });
      return { kind: 'error', unreachable: true, reason: `Prometheus at ${this.#base} ${why}` };
    }
    if (body.status !== 'success' || status >= 400) {
      // Prometheus' own error: `HTTP 422: execution: query processing would load too many samples`.
      const parts = [httpStatus(status), body.errorType, body.error === undefined ? undefined : excerpt(body.error)];
      return { kind: 'error', status, reason: parts.filter((x) => x !== undefined && x !== '').join(': ') };
    }
    return { kind: 'ok', data: body.data };
  }

  async close(): Promise<void> {
    // undici's global dispatcher owns the connections; nothing to release per source.
  }
}

/**
 * Vector → one value: `sum` adds its samples up (a rate over several series, e.g. one per pod);
 * `single` (a latency, a mean service time: per-series values that do not add up) takes its one
 * sample and makes several an HR_PROMETHEUS_SERIES error naming the first label sets. Scalar → its value.
 */
export function interpret(data: PromResponse['data'], aggregate: Aggregation = 'sum'): MetricSample {
  if (!data) return { kind: 'error', reason: 'Prometheus answer without data' };
  let series: Array<{ labels: Record<string, string>; value: PromValue }>;
  if (data.resultType === 'scalar') series = [{ labels: {}, value: data.result as PromValue }];
  else if (data.resultType === 'vector')
    series = (data.result as Array<{ metric?: Record<string, string>; value: PromValue }>).map((r) => ({
      labels: r.metric ?? {},
      value: r.value,
    }));
  else return { kind: 'error', reason: `query returns a ${data.resultType}; an instant vector or scalar is needed` };
  if (series.length === 0) return { kind: 'no-data', reason: 'the query returned no series' };
  if (aggregate === 'single' && series.length > 1) {
    const shown = series.slice(0, SHOWN_SERIES).map((s) => labelText(s.labels));
    const more = series.length > SHOWN_SERIES ? `, and ${series.length - SHOWN_SERIES} more` : '';
    return {
      kind: 'error',
      code: 'HR_PROMETHEUS_SERIES',
      reason:
        `HR_PROMETHEUS_SERIES: the query returned ${series.length} series where one is needed: ${shown.join(', ')}${more}; ` +
        'they are not added up (a latency or service time per series is no total): aggregate them ' +
        '(a histogram_quantile over sum by (le), a ratio of sums) or select one with its labels',
    };
  }
  let sum = 0;
  let at = 0;
  for (const {
    value: [t, v],
  } of series) {
    const x = Number(v);
    // NaN comes from e.g. 0/0 in a ratio over an idle window: that is missing data, not zero.
    if (!Number.isFinite(x)) return { kind: 'no-data', reason: `the query returned ${v}` };
    sum += x;
    at = Math.max(at, t);
  }
  // A rate is never negative (decide() holds on one): say so here too, not "QuerySucceeded".
  if (sum < 0) {
    const what = aggregate === 'sum' ? 'a request rate' : 'a latency or service time';
    return { kind: 'no-data', reason: `the query returned ${sum}: ${what} cannot be negative` };
  }
  return { kind: 'ok', value: sum, at, series: series.length };
}

/** Label sets named in an HR_PROMETHEUS_SERIES message (as `headroom backtest` does). */
const SHOWN_SERIES = 5;

/** `HTTP 502 Bad Gateway`. */
const httpStatus = (status: number): string =>
  `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;

/** The start of a body or message on one line (an HTML error page, a long PromQL error). */
const excerpt = (text: string): string => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line || '(empty body)';
};

/** `10 s`, `2.5 s`, `0.25 s`. */
const seconds = (ms: number): string => `${Number((ms / 1000).toPrecision(3))} s`;

/** Network errors by code, in words (the code follows in parentheses). */
const NETWORK: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending the query',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  UND_ERR_SOCKET: 'connection closed before an answer',
  UND_ERR_CLOSED: 'connection closed before an answer',
};

/**
 * Why a request got no answer, after `Prometheus at <url> `: `unreachable: connection refused
 * (ECONNREFUSED)`, `did not answer within 5 s (timeout)`, `unreachable: TLS failed: self-signed
 * certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`. Only string codes are shown: a DOMException's numeric
 * `code` (23 for a timeout) means nothing to a reader.
 */
export function failure(err: unknown, at: { host: string; timeoutMs: number; timedOut: boolean }): string {
  const e = err instanceof Error ? (err as Error & { code?: unknown; cause?: unknown }) : undefined;
  const cause = e?.cause as { code?: unknown; message?: unknown } | undefined;
  const raw = typeof e?.code === 'string' ? e.code : typeof cause?.code === 'string' ? cause.code : undefined;
  const name = e?.name ?? '';
  if (at.timedOut || name === 'TimeoutError') return `did not answer within ${seconds(at.timeoutMs)} (timeout)`;
  if (raw === 'UND_ERR_HEADERS_TIMEOUT' || raw === 'UND_ERR_BODY_TIMEOUT') return `did not answer in time (${raw})`;
  if (raw === 'UND_ERR_CONNECT_TIMEOUT' || raw === 'ETIMEDOUT') return `unreachable: no connection in time (${raw})`;
  if (name === 'AbortError' || raw === 'UND_ERR_ABORTED' || raw === 'ABORT_ERR')
    return 'not asked: the query was cancelled (abort)';
  const msg = (e?.message || (typeof cause?.message === 'string' ? cause.message : '') || String(err)).trim();
  if (raw === 'ENOTFOUND') return `unreachable: host ${at.host.replace(/:\d+$/, '')} not found (ENOTFOUND)`;
  if (raw === 'EAI_AGAIN') return `unreachable: DNS lookup of ${at.host.replace(/:\d+$/, '')} failed (EAI_AGAIN)`;
  if (raw && NETWORK[raw]) return `unreachable: ${NETWORK[raw]} (${raw})`;
  if (raw && /CERT|SSL|TLS|EPROTO|SIGNATURE|ISSUER/.test(raw)) return `unreachable: TLS failed: ${msg} (${raw})`;
  if (raw) return `unreachable: ${msg.includes(raw) ? msg : `${msg} (${raw})`}`;
  return `unreachable: ${msg}`;
}
