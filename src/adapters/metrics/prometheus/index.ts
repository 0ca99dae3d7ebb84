// Prometheus HTTP API client (GET /api/v1/query): one instant value per query, as ok / no-data /
// error. It never throws: an empty vector or NaN is `no-data`, a refused connection, timeout, HTTP
// error or a PromQL error is `error` (the loop counts those as metric failures). `range()` reads
// history (GET /api/v1/query_range) in chunks of at most 11,000 points (range.ts), the same way.
import { request } from 'undici';
import type { MetricSample, MetricsSource, RangeAnswer, RangeSource } from '../../../ports/metrics.ts';
import { chunkRange, mergeChunks, type RangeSeries } from './range.ts';

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

  async sample(query: string, options: { signal?: AbortSignal } = {}): Promise<MetricSample> {
    const a = await this.#get('/api/v1/query', { query }, options.signal);
    if (a.kind === 'error')
      return { kind: 'error', reason: a.reason, ...(a.status !== undefined ? { status: a.status } : {}) };
    return interpret(a.data);
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
    const signals = [AbortSignal.timeout(this.#timeoutMs), ...(signal ? [signal] : [])];
    let status: number;
    let body: PromResponse;
    try {
      const res = await request(url, { method: 'GET', headers: this.#headers, signal: AbortSignal.any(signals) });
      status = res.statusCode;
      const text = await res.body.text();
      try {
        body = JSON.parse(text) as PromResponse;
      } catch {
        return { kind: 'error', status, reason: `HTTP ${status}: not a Prometheus API answer: ${text.slice(0, 200)}` };
      }
    } catch (err) {
      return { kind: 'error', unreachable: true, reason: `Prometheus at ${this.#base} unreachable: ${describe(err)}` };
    }
    if (body.status !== 'success' || status >= 400) {
      return {
        kind: 'error',
        status,
        reason: `HTTP ${status}: ${body.errorType ?? 'error'}: ${body.error ?? ''}`.trim(),
      };
    }
    return { kind: 'ok', data: body.data };
  }

  async close(): Promise<void> {
    // undici's global dispatcher owns the connections; nothing to release per source.
  }
}

/** Vector → sum of its samples (a query over several series adds up); scalar → its value. */
export function interpret(data: PromResponse['data']): MetricSample {
  if (!data) return { kind: 'error', reason: 'Prometheus answer without data' };
  let values: PromValue[];
  if (data.resultType === 'scalar') values = [data.result as PromValue];
  else if (data.resultType === 'vector') values = (data.result as { value: PromValue }[]).map((r) => r.value);
  else return { kind: 'error', reason: `query returns a ${data.resultType}; an instant vector or scalar is needed` };
  if (values.length === 0) return { kind: 'no-data', reason: 'the query returned no series' };
  let sum = 0;
  let at = 0;
  for (const [t, v] of values) {
    const x = Number(v);
    // NaN comes from e.g. 0/0 in a ratio over an idle window: that is missing data, not zero.
    if (!Number.isFinite(x)) return { kind: 'no-data', reason: `the query returned ${v}` };
    sum += x;
    at = Math.max(at, t);
  }
  // A rate is never negative (decide() holds on one): say so here too, not "QuerySucceeded".
  if (sum < 0) return { kind: 'no-data', reason: `the query returned ${sum}: a request rate cannot be negative` };
  return { kind: 'ok', value: sum, at, series: values.length };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = (err as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
  return code ? `${code} ${err.message}` : err.message;
}
