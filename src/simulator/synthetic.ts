// Synthetic traffic for `simulate` (issue 15): families that no single tuning fits, seeded, so
// tests and docs can build a grid. `--trace synthetic:FAMILY[,key=value...]`, e.g.
//
//   synthetic:spikes,period=7200,width=600,height=5      a spike of 5× the base every 2 h: rises in
//                                                        width/4, decays over the rest (the shape of
//                                                        the bursty event stream in issue 15)
//   synthetic:flash,count=3,height=8                      3 flash crowds a week at random times
//   synthetic:diurnal,amplitude=0.6,noise=0.1             a day/night cycle with minute noise
//   synthetic:step,at=43200,height=3                      demand triples at t = 12 h and stays
//
// Common keys: days (length, default 7), base (rps of the quiet level, default 100; `--peak`
// rescales anyway), noise (relative per-minute noise, default 0.05), jitter (seconds a spike or
// crowd may move from its slot, default 0), seed (default 1). One value per minute, held for its
// 60 s, like the shared traces. Bad keys or values: HR_USAGE naming the key, value and range.
import { HeadroomError } from '../core/errors.ts';
import { TRACE_MAX_SECONDS, type Trace } from '../input/trace.ts';
import { isDecimal } from '../input/decimal.ts';

export const SYNTHETIC_FAMILIES = ['spikes', 'flash', 'diurnal', 'step'] as const;
type Family = (typeof SYNTHETIC_FAMILIES)[number];

const KEYS: Record<string, { min: number; max: number; dflt: number }> = {
  days: { min: 1 / 24, max: TRACE_MAX_SECONDS / 86400, dflt: 7 },
  base: { min: 0.001, max: 1e9, dflt: 100 },
  noise: { min: 0, max: 1, dflt: 0.05 },
  jitter: { min: 0, max: 86400, dflt: 0 },
  seed: { min: 0, max: 2 ** 31, dflt: 1 },
  period: { min: 60, max: 7 * 86400, dflt: 7200 },
  width: { min: 60, max: 86400, dflt: 600 },
  height: { min: 1, max: 1000, dflt: 5 },
  count: { min: 1, max: 1000, dflt: 3 },
  amplitude: { min: 0, max: 0.99, dflt: 0.5 },
  at: { min: 0, max: TRACE_MAX_SECONDS, dflt: 43200 },
};

export function isSynthetic(trace: string): boolean {
  return trace.startsWith('synthetic:');
}

/** `synthetic:FAMILY,k=v,...` → a trace. */
export function syntheticTrace(spec: string): Trace {
  const [head = '', ...pairs] = spec.slice('synthetic:'.length).split(',');
  const family = head as Family;
  if (!SYNTHETIC_FAMILIES.includes(family)) {
    throw usage('--trace', spec, `unknown synthetic family "${head}"`, SYNTHETIC_FAMILIES.join(', '));
  }
  const v: Record<string, number> = {};
  for (const [k, r] of Object.entries(KEYS)) v[k] = r.dflt;
  const given = new Set<string>();
  for (const pair of pairs) {
    const [k = '', raw = ''] = pair.split('=');
    const range = KEYS[k];
    if (!range) throw usage('--trace', spec, `unknown key "${k}"`, Object.keys(KEYS).join(', '));
    if (given.has(k)) throw usage(`--trace ${k}`, spec, `"${k}" is given twice`, 'each key once');
    given.add(k);
    const x = Number(raw);
    const allowed = `${+range.min.toPrecision(4)} to ${+range.max.toPrecision(4)}`;
    if (!isDecimal(raw)) throw usage(`--trace ${k}`, raw, 'not a decimal number', allowed);
    if (!Number.isFinite(x) || x < range.min || x > range.max)
      throw usage(`--trace ${k}`, raw, 'out of range', allowed);
    v[k] = x;
  }
  const minutes = Math.max(1, Math.round((v.days! * 86400) / 60));
  const rand = mulberry32(v.seed!);
  const base = v.base!;
  const perMinute = new Float64Array(minutes);
  // Where the events (spikes, crowds) start, in seconds.
  const starts: number[] = [];
  const span = minutes * 60;
  if (family === 'spikes') {
    for (let t = v.period! / 2; t < span; t += v.period!) starts.push(t + (rand() * 2 - 1) * v.jitter!);
  } else if (family === 'flash') {
    for (let i = 0; i < v.count!; i++) starts.push(rand() * span);
  }
  for (let m = 0; m < minutes; m++) {
    const t = m * 60 + 30;
    let level = base;
    if (family === 'diurnal') level = base * (1 + v.amplitude! * Math.sin((2 * Math.PI * t) / 86400 - Math.PI / 2));
    if (family === 'step' && t >= v.at!) level = base * v.height!;
    for (const s of starts) level += base * (v.height! - 1) * pulse(t - s, v.width!);
    // Multiplicative noise, uniform in ±noise.
    perMinute[m] = Math.max(0, level * (1 + (rand() * 2 - 1) * v.noise!));
  }
  const rps = new Float64Array(span);
  for (let i = 0; i < span; i++) rps[i] = perMinute[Math.floor(i / 60)]!;
  return { rps, rowSeconds: 60, source: spec };
}

/** A spike of height 1 at dt = 0..width: linear rise over width/4, then exponential decay. */
function pulse(dt: number, width: number): number {
  if (dt < 0 || dt > 2 * width) return 0;
  const rise = width / 4;
  if (dt < rise) return dt / rise;
  return Math.exp((-3 * (dt - rise)) / (width - rise));
}

/** Seeded uniform [0, 1) (mulberry32): the same traffic, and the same test histories, every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function usage(path: string, value: string, message: string, allowed: string): HeadroomError {
  return new HeadroomError({ code: 'HR_USAGE', path, value, message, allowed });
}
