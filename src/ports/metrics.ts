// A metrics source answers a query with ok / no-data / error (KEDA's Scaler, Knative's ErrNoData):
// "no data" is a normal answer, never an exception, so the loop can tell "the service is idle"
// (ok, 0) from "we cannot see" (no-data) from "the source is down" (error).

export type MetricSample =
  | { kind: 'ok'; value: number; /** sample time, seconds since the epoch */ at: number; series: number }
  | { kind: 'no-data'; reason: string }
  | {
      kind: 'error';
      reason: string;
      /** HTTP status when the source answered */ status?: number;
      /** The stable code of a problem the user fixes in the query (docs/errors.md), e.g. HR_PROMETHEUS_SERIES. */
      code?: 'HR_PROMETHEUS_SERIES';
    };

/**
 * How a query over several series becomes one value: `sum` adds them up (request rates, counts);
 * `single` takes the one series and makes several an error (HR_PROMETHEUS_SERIES): a latency or a
 * mean service time per pod does not add up.
 */
export type Aggregation = 'sum' | 'single';

export interface MetricsSource {
  /**
   * One instant value for `query` (e.g. PromQL). Never rejects: failures are `error` samples.
   * `aggregate` (default `sum`): what several series mean (Aggregation).
   */
  sample(query: string, options?: { signal?: AbortSignal; aggregate?: Aggregation }): Promise<MetricSample>;
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

/** Where a scale target's pods export their request counter (HeadroomPolicy spec.demand.pods). */
export interface PodCounter {
  /** The container port, by number or by name (e.g. "metrics"). */
  port: number | string;
  /** HTTP path of the Prometheus text exposition, e.g. /metrics. */
  path: string;
  /** A counter of requests, e.g. http_requests_total; its series are summed. */
  metric: string;
  /** Only the series with these labels (e.g. { code: "200" }); none: every series. */
  labels?: Record<string, string>;
  /**
   * A gauge of requests received and not yet answered, queue included (e.g.
   * http_requests_in_flight); its series are summed. A counter incremented on the answer cannot
   * read more than the pods serve: 4 saturated pods serving 200 rps while 500 arrive read 200. What
   * arrived is what was answered plus what waits (arrivals = answers + Δ in flight), so with this
   * gauge the reading is the arrival rate: 200 + 300 more waiting each second = 500.
   */
  inFlight?: string;
}

export interface PodRateQuery {
  /** Whose history this is (one per policy): counters are kept between calls under it. */
  key: string;
  namespace: string;
  /** Label selector of the target's pods (the scale's status.selector). */
  selector: string;
  counter: PodCounter;
  /** The rate is over the last windowSeconds (the burst window). */
  windowSeconds: number;
  /** ms since the epoch (the clock port's now). */
  nowMs: number;
}

/**
 * The request rate of a scale target's ready pods, read from the pods themselves each round (as
 * Knative's autoscaler reads its queue-proxies) rather than from a scrape one interval late.
 * Never rejects: failures are `error` samples, a first reading (no rate yet) is `no-data`.
 */
export interface PodRateSource {
  rate(q: PodRateQuery): Promise<MetricSample>;
}
