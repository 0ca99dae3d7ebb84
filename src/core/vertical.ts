// Vertical advice: per-instance CPU/memory request and limit from observed usage, the VPA
// recommender's way (kubernetes/autoscaler vertical-pod-autoscaler/pkg/recommender/logic):
// - samples go into a histogram with buckets growing 5 % each, weighted by 2^((t − now)/24h), so a
//   day-old sample counts half;
// - memory uses the peak of each 24 h interval (a request must hold the peak, not the average);
// - target = p90 + 15 % margin; lower bound = p50; upper bound = p95;
// - confidence: with d days of history, upper × (1 + 1/d), lower × (1 + 0.001/d)^−2
//   (12 h of data: upper × 3; a week: × 1.14);
// - floors: 25m CPU and 250 MiB memory.
// We recommend request = target and limit = upper bound (rounded up).
//
// E.g. a week of CPU samples around 200m with peaks of 300m: p90 ≈ 280m → request 322m; p95 ≈ 290m
// × 1.14 → limit 331m.

export interface UsageSample {
  /** Seconds. */
  t: number;
  cpuMillis?: number;
  memoryBytes?: number;
}

export interface ResourceAdvice {
  request: number;
  limit: number;
  lowerBound: number;
  upperBound: number;
  /** Samples that went into it (memory: 24 h peaks). */
  samples: number;
}

export interface VerticalAdvice {
  cpu?: ResourceAdvice;
  memory?: ResourceAdvice;
  /** Days of history the confidence factors used. */
  historyDays: number;
  notes: string[];
}

const HALF_LIFE_S = 24 * 3600;
const GROWTH = 1.05;
const CPU = { firstBucket: 10, max: 1_000_000, floor: 25 }; // millicores
const MEMORY = { firstBucket: 1e7, max: 1e12, floor: 250 * 2 ** 20 }; // bytes

/** A decaying exponential-bucket histogram (VPA's `decayingHistogram`). */
export class DecayingHistogram {
  private readonly weights = new Map<number, number>();
  private total = 0;
  private readonly firstBucket: number;
  private readonly maxValue: number;
  private readonly now: number;

  constructor(firstBucket: number, maxValue: number, now: number) {
    this.firstBucket = firstBucket;
    this.maxValue = maxValue;
    this.now = now;
  }

  /** Start of bucket i: firstBucket × (1.05^i − 1) / 0.05. */
  bucketStart(i: number): number {
    return (this.firstBucket * (GROWTH ** i - 1)) / (GROWTH - 1);
  }

  bucketOf(value: number): number {
    if (value < this.firstBucket) return 0;
    const v = Math.min(value, this.maxValue);
    return Math.floor(Math.log(1 + (v * (GROWTH - 1)) / this.firstBucket) / Math.log(GROWTH));
  }

  add(value: number, t: number, weight = 1): void {
    const w = weight * 2 ** ((t - this.now) / HALF_LIFE_S);
    if (!(w > 0) || !Number.isFinite(w)) return;
    const b = this.bucketOf(value);
    this.weights.set(b, (this.weights.get(b) ?? 0) + w);
    this.total += w;
  }

  /** The end of the bucket where the cumulative weight reaches p (conservative, as VPA). */
  percentile(p: number): number {
    if (this.total <= 0) return 0;
    const buckets = [...this.weights.keys()].sort((a, b) => a - b);
    let sum = 0;
    for (const b of buckets) {
      sum += this.weights.get(b) ?? 0;
      if (sum >= p * this.total * (1 - 1e-12)) return this.bucketStart(b + 1);
    }
    return this.bucketStart((buckets[buckets.length - 1] ?? 0) + 1);
  }
}

function advise(h: DecayingHistogram, days: number, floor: number, samples: number): ResourceAdvice {
  const target = Math.max(floor, h.percentile(0.9) * 1.15);
  const lowerBound = Math.max(floor, h.percentile(0.5) * (1 + 0.001 / days) ** -2);
  const upperBound = Math.max(target, h.percentile(0.95) * (1 + 1 / days));
  return { request: target, limit: upperBound, lowerBound, upperBound, samples };
}

/** VPA-style request/limit advice from per-instance usage samples, as of `now` (seconds). */
export function verticalAdvice(samples: readonly UsageSample[], now: number): VerticalAdvice {
  const notes: string[] = [];
  // A loop, not Math.min(...times): spreading 250,000 samples overflows the call stack.
  let first = Infinity;
  let last = -Infinity;
  for (const s of samples) {
    if (s.t > now) continue;
    if (s.t < first) first = s.t;
    if (s.t > last) last = s.t;
  }
  if (first === Infinity) return { historyDays: 0, notes: ['no usage samples at or before now'] };
  // The history is the span the samples cover, first to last (VPA's lifespan), not first to now: 5
  // samples over a day read 11 days later are a day of history (the limit's × 2, not × 1.09). At
  // least 5 minutes, so a single sample does not divide by zero.
  const days = Math.max(last - first, 300) / 86400;
  if (days < 1)
    notes.push(
      `only ${(days * 24).toFixed(1)} h of history: the limit carries a wide confidence margin (× ${(1 + 1 / days).toFixed(2)})`,
    );

  if (now - last > 7 * 86400)
    notes.push(
      `the newest usage sample is ${((now - last) / 86400).toFixed(0)} days old: the advice describes that time`,
    );
  // Weights decay relative to the newest sample, not to now: the same ratios between samples, but a
  // history that ended long ago (2^(−days) underflows to 0 after ~1,075 days) still counts.
  const ref = last;
  const cpuHist = new DecayingHistogram(CPU.firstBucket, CPU.max, ref);
  let cpuN = 0;
  const memPeaks = new Map<number, { t: number; v: number }>();
  for (const s of samples) {
    if (s.t > now) continue;
    if (s.cpuMillis !== undefined) {
      cpuHist.add(s.cpuMillis, s.t);
      cpuN++;
    }
    if (s.memoryBytes !== undefined) {
      // 24 h intervals counted back from now, so the newest interval is complete up to now.
      const k = Math.floor((now - s.t) / 86400);
      const cur = memPeaks.get(k);
      if (!cur || s.memoryBytes > cur.v) memPeaks.set(k, { t: s.t, v: s.memoryBytes });
    }
  }
  const out: VerticalAdvice = { historyDays: days, notes };
  if (cpuN > 0) out.cpu = advise(cpuHist, days, CPU.floor, cpuN);
  if (memPeaks.size > 0) {
    const memHist = new DecayingHistogram(MEMORY.firstBucket, MEMORY.max, ref);
    for (const { t, v } of memPeaks.values()) memHist.add(v, t);
    out.memory = advise(memHist, days, MEMORY.floor, memPeaks.size);
  }
  return out;
}
