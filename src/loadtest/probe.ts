// The probe before the search: requests one at a time (no queueing anywhere), for the unloaded
// service time and its distribution. generator.ts drives the loaded steps.
import { targetError } from './errors.ts';
import type { RequestTemplate } from './generator.ts';
import { prepareRequest, type Http1Client } from './http1-client.ts';

export interface ProbeResult {
  /**
   * Mean latency of the sequential requests after the first (one at a time: no queueing), over the
   * successful ones (HTTP < 400) when there are any. Undefined when no request was timed
   * (`--probe-requests 0`): the first request's time includes the connection set-up.
   */
  meanMs: number | undefined;
  /** Requests timed (the first, which opens the connection, is not one of them). */
  samples: number;
  statuses: Record<string, number>;
  firstMs: number;
  /** Latency (ms) of each timed request answered with HTTP < 400, in the order sent. */
  latenciesMs: number[];
}

/** Responses after which the probe stops if none of them succeeded (probeErrors then fails the run). */
export const PROBE_CHECK_REQUESTS = 20;

/**
 * Check the target answers HTTP, then send requests one at a time (no queueing anywhere) to
 * measure the unloaded service time and its distribution: at most `requests` of them and for at
 * most `maxMs`, stopping early when aborted or when the first 20 all failed with HTTP ≥ 400.
 * The first request opens the connection and is not timed.
 * Throws HR_LOADTEST_TARGET / HR_LOADTEST_TIMEOUT with the reason when the first request fails.
 */
export async function probe(
  pool: Http1Client,
  req: RequestTemplate,
  opts: { requests: number; maxMs: number; signal?: AbortSignal },
): Promise<ProbeResult> {
  const statuses: Record<string, number> = {};
  const prepared = prepareRequest(req.url, req);
  const one = async (): Promise<{ ms: number; ok: boolean }> => {
    const t = performance.now();
    const status = await pool.request(prepared, opts.signal);
    const ms = performance.now() - t;
    statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    return { ms, ok: status < 400 };
  };
  let firstMs: number;
  try {
    firstMs = (await one()).ms;
  } catch (err) {
    throw targetError(req, err);
  }
  const start = performance.now();
  const latenciesMs: number[] = [];
  let sumAll = 0;
  let sumOk = 0;
  let n = 0;
  while (n < opts.requests && performance.now() - start < opts.maxMs && !opts.signal?.aborted) {
    if (n === PROBE_CHECK_REQUESTS && latenciesMs.length === 0) break;
    try {
      const { ms, ok } = await one();
      n++;
      sumAll += ms;
      if (ok) {
        latenciesMs.push(ms);
        sumOk += ms;
      }
    } catch (err) {
      if (opts.signal?.aborted) break;
      throw targetError(req, err);
    }
  }
  const meanMs = latenciesMs.length > 0 ? sumOk / latenciesMs.length : n > 0 ? sumAll / n : undefined;
  return { meanMs, samples: n, statuses, firstMs, latenciesMs };
}
