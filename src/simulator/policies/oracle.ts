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
  return { kind: 'offline', name: 'oracle', label: 'oracle', schedule: oracleSchedule, startsAtFirstNeed: true };
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
  return slidingMax(need, 0, S);
}

/**
 * out[t] = max of v over [t − behind, t + ahead] (clipped to the array), with a monotone deque of
 * indices: O(T). The oracle looks ahead by the startup; a scale-down window looks behind.
 * E.g. v = [1, 3, 2, 0], behind 0, ahead 1 → [3, 3, 2, 0]; behind 1, ahead 0 → [1, 3, 3, 2].
 */
export function slidingMax(v: Int32Array, behind: number, ahead: number): Int32Array {
  const T = v.length;
  const out = new Int32Array(T);
  const dq = new Int32Array(T);
  let head = 0;
  let tail = 0;
  let next = 0;
  for (let t = 0; t < T; t++) {
    for (const end = Math.min(T - 1, t + ahead); next <= end; next++) {
      while (tail > head && (v[dq[tail - 1] ?? 0] ?? 0) <= (v[next] ?? 0)) tail--;
      dq[tail++] = next;
    }
    while ((dq[head] ?? 0) < t - behind) head++;
    out[t] = v[dq[head] ?? 0] ?? 0;
  }
  return out;
}
