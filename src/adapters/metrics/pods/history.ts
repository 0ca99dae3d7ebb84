// Each pod's counter readings (and requests in flight, if read), kept between rounds, and the
// rate they give over a window.
//
// E.g. window 6 s, pod a read 1,000 at t = 10, 1,300 at t = 13 and 1,720 at t = 17: the base is
// the newest reading at or before 17 − 6 = 11 (1,000 at t = 10), so a serves 720 / 7 = 102.9 rps.
// A pod read once has no rate yet; a counter that went down was reset (the container restarted):
// its readings start over from that one. Pure: the scraper (index.ts) does the reads.

/** One pod's reading: its answered-requests counter and, if read, its requests in flight. */
export interface PodReading {
  answered: number;
  waiting?: number;
}

interface Reading {
  t: number;
  v: number;
  w: number;
}

/** At most this many readings per pod (a 1-s round over a 6-s window keeps ~66). */
const MAX_READINGS = 256;
/** A policy not read for this long is forgotten (deleted, or its leader moved), s. */
const FORGET_SECONDS = 600;

export class PodHistory {
  readonly #byKey = new Map<string, { at: number; pods: Map<string, Reading[]> }>();

  /**
   * Record the readings of one round (pod uid → reading, at `t` s) and return the rate of each pod
   * that has one over the last `windowSeconds` (uid → rps). Pods not read this round are
   * forgotten, so a pod that comes back starts over.
   */
  record(
    key: string,
    t: number,
    values: ReadonlyMap<string, number | PodReading>,
    windowSeconds: number,
  ): Map<string, number> {
    for (const [k, h] of this.#byKey) if (t - h.at > FORGET_SECONDS) this.#byKey.delete(k);
    const old = this.#byKey.get(key)?.pods ?? new Map<string, Reading[]>();
    const pods = new Map<string, Reading[]>();
    const rates = new Map<string, number>();
    for (const [uid, x] of values) {
      const { answered: v, waiting: w = 0 } = typeof x === 'number' ? { answered: x } : x;
      let rs = old.get(uid) ?? [];
      const last = rs[rs.length - 1];
      if (last === undefined || t > last.t) {
        if (last !== undefined && v < last.v) rs = []; // reset: start over
        rs.push({ t, v, w });
      }
      // Keep one reading at or before t − window (the base), and what came after it.
      while (rs.length > MAX_READINGS || (rs.length > 2 && (rs[1]?.t ?? t) <= t - windowSeconds)) rs.shift();
      pods.set(uid, rs);
      const rate = rateOf(rs, t, windowSeconds);
      if (rate !== undefined) rates.set(uid, rate);
    }
    this.#byKey.set(key, { at: t, pods });
    return rates;
  }
}

/**
 * The rate from the newest reading at or before t − window (else the oldest) to the latest: what
 * was answered plus what more now waits (arrivals = answers + Δ in flight). E.g. over 6 s a
 * saturated pod answered 1,200 and its queue grew from 10 to 1,810: 3,000 arrived, 500 rps. Never
 * below 0: the gauge and the counter are not read at the same instant, so a draining queue can
 * lead its answers by a request or two.
 */
function rateOf(rs: readonly Reading[], t: number, windowSeconds: number): number | undefined {
  const now = rs[rs.length - 1];
  if (now === undefined || rs.length < 2) return undefined;
  let base = rs[0]!;
  for (const r of rs) {
    if (r.t > t - windowSeconds) break;
    base = r;
  }
  const dt = now.t - base.t;
  return dt > 0 ? Math.max(0, now.v - base.v + now.w - base.w) / dt : undefined;
}
