// A metrics source answers a query with ok / no-data / error (KEDA's Scaler, Knative's ErrNoData):
// "no data" is a normal answer, never an exception, so the loop can tell "the service is idle"
// (ok, 0) from "we cannot see" (no-data) from "the source is down" (error).

export type MetricSample =
  | { kind: 'ok'; value: number; /** sample time, seconds since the epoch */ at: number; series: number }
  | { kind: 'no-data'; reason: string }
  | { kind: 'error'; reason: string; /** HTTP status when the source answered */ status?: number };

export interface MetricsSource {
  /** One instant value for `query` (e.g. PromQL). Never rejects: failures are `error` samples. */
  sample(query: string, options?: { signal?: AbortSignal }): Promise<MetricSample>;
  close(): Promise<void>;
}

/** History: one value per step of each series a query returns (Prometheus query_range). */
export type RangeAnswer =
  | { kind: 'ok'; series: Array<{ labels: Record<string, string>; values: Array<[number, number]> }> }
  | {
      kind: 'error';
      reason: string;
      /** HTTP status when the source answered */ status?: number;
      unreachable?: boolean;
    };

export interface RangeSource {
  /** `query` at start, start + step, … ≤ end (seconds since the epoch). Never rejects. */
  range(
    query: string,
    r: { start: number; end: number; step: number },
    options?: { signal?: AbortSignal },
  ): Promise<RangeAnswer>;
}
