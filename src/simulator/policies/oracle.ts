// The offline optimum: knows the whole trace. need(τ) = the fewest ready instances with no violation
// at second τ (from the SLO capacity table, at least replicas.min). An instance ready at τ must be
// started at τ − S and runs through [τ − S, τ], so at every second t at least
//   M(t) = max{ need(τ) : t ≤ τ ≤ t + S }
// instances must be running; asking for exactly M(t) achieves that bound (one instance per level
// run of `need`, started S early, kept across gaps shorter than S), so it is the least cost any
// policy can reach under the same startup delay. Sliding-window maximum: O(T).
// E.g. S = 30, need 3 for t < 100 and 6 after: M = 3 for t < 70, 6 from t = 70.
import type { ServiceModel } from '../../core/model.ts';
import type { CapacityTable } from '../capacity.ts';
import type { OfflinePolicy } from './types.ts';

export function oraclePolicy(): OfflinePolicy {
  return { kind: 'offline', name: 'oracle', label: 'oracle', schedule: oracleSchedule };
}

/**
 * `floor` (optional): at least this many instances at each second, within replicas.min..max (the
 * noise bound's utilization ceiling, bound.ts).
 */
export function oracleSchedule(
  demand: Float64Array,
  table: CapacityTable,
  model: ServiceModel,
  floor?: Int32Array,
): Int32Array {
  const T = demand.length;
  const S = Math.max(0, Math.round(model.startupSeconds));
  const need = new Int32Array(T);
  let last = -1;
  let lastNeed = 0;
  for (let t = 0; t < T; t++) {
    const d = demand[t] ?? 0;
    if (d !== last) {
      lastNeed = table.need(d);
      last = d;
    }
    need[t] = Math.min(model.replicas.max, Math.max(model.replicas.min, lastNeed, floor?.[t] ?? 0));
  }
  // Sliding max over [t, t+S] with a monotone deque of indices, scanning t downwards.
  const out = new Int32Array(T);
  const dq = new Int32Array(T);
  let head = 0;
  let tail = 0;
  for (let t = T - 1; t >= 0; t--) {
    const v = need[t] ?? 0;
    while (tail > head && (need[dq[tail - 1] ?? 0] ?? 0) <= v) tail--;
    dq[tail++] = t;
    while ((dq[head] ?? 0) > t + S) head++;
    out[t] = need[dq[head] ?? 0] ?? 0;
  }
  return out;
}
