// Request-rate traces: CSV `t_seconds,rps`, the rate holding until the next row, expanded to one
// value per second (the simulator's step). The last row holds for the trace's usual row interval,
// e.g. 10,080 rows at 60 s → 604,800 seconds.
import { HeadroomError, escapeText } from '../core/errors.ts';
import { readInputFile } from './read.ts';
import { isDecimal } from './decimal.ts';

export interface Trace {
  /** Demand in requests per second for second i = [i, i+1). */
  readonly rps: Float64Array;
  /** Seconds between the CSV's rows (the median; 60 for the shared traces). */
  readonly rowSeconds: number;
  /** Where it came from, for reports. */
  readonly source: string;
  /**
   * What looks wrong in the file but is replayed as written (a long gap held across, a counter where
   * a rate belongs), one line each, `file:line: ...`; absent when there is nothing to say.
   */
  readonly warnings?: readonly string[];
}

// Limits, so that a three-line file cannot take gigabytes: the trace is replayed second by second,
// so its span (not its row count) is what costs. 31 days at 1 s is 2,678,400 seconds — 21 MB as
// Float64 — and at most as many rows (times increase strictly); 64 MiB holds that at ~25 bytes a row.
// Rates are capped like a spec's demand.rps (1e9): 1e308 rps would make every sizing step huge.
export const TRACE_MAX_SECONDS = 31 * 86400;
export const TRACE_MAX_RPS = 1e9;
export const TRACE_MAX_BYTES = 64 * 2 ** 20;

// A gap: two rows more than 5 × the usual (median) interval AND more than 5 min apart. Beyond 5 × is
// five rows or more lost in a row, not a late or missed scrape (2–3 × happens in every export); 5 min
// keeps 1-s traces quiet about a few seconds' pause, which no policy can tell from a flat rate anyway.
export const TRACE_GAP_FACTOR = 5;
export const TRACE_GAP_MIN_SECONDS = 300;
/** Gaps named one by one; the rest are counted. */
export const TRACE_GAPS_LISTED = 3;
// A counter given as the rate: never decreasing over ≥ 20 rows, rising in at least half of them (a
// counter under load rises at every scrape; a step up rises once) and ending ≥ 10 × where it starts
// (or rising from 0). Real demand dips within 20 rows; the shipped and synthetic traces never match.
export const COUNTER_MIN_ROWS = 20;
export const COUNTER_MIN_FACTOR = 10;

export function loadTraceFile(path: string): Trace {
  return parseTraceCsv(readInputFile(path, { what: 'the trace', maxBytes: TRACE_MAX_BYTES }), path);
}

/** Parse `t_seconds,rps` rows (header required; blank lines and `#` comments skipped). */
export function parseTraceCsv(text: string, file = '<trace>'): Trace {
  // Where, as every input error says it: file:line:column and the field (`x.csv:4:1: t_seconds`).
  const at = (line: number, column: number, path?: string) => ({ file, line, column, ...(path ? { path } : {}) });
  const bad = (where: ReturnType<typeof at>, message: string, value?: unknown, allowed?: string): HeadroomError =>
    new HeadroomError({ code: 'HR_TRACE_INVALID', message, ...where, value, allowed });
  const ROW = 't_seconds,rps: whole seconds from 0, then requests per second, e.g. `60,12.5`';
  // Typed arrays that grow by doubling: memory is ~16 bytes a row, not a JS array of cells a row.
  let times = new Float64Array(1024);
  let rates = new Float64Array(1024);
  // The line of each row, for warnings that name where (`x.csv:61:`).
  let lines = new Float64Array(1024);
  let n = 0;
  let header = false;
  let line = 0;
  for (let pos = 0; pos < text.length;) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const full = text.slice(pos, end);
    const raw = full.trim();
    pos = end + 1;
    line++;
    if (raw === '' || raw.startsWith('#')) continue;
    const cells = raw.split(',', 3).map((c) => c.trim());
    // 1-based columns of the two fields in the line as written (leading spaces, BOM and all).
    const col0 = full.length - full.trimStart().length + 1;
    const comma = full.indexOf(',');
    const after = full.slice(comma + 1);
    const col1 = comma < 0 ? col0 : comma + 2 + after.length - after.trimStart().length;
    if (!header) {
      if (cells[0] !== 't_seconds' || cells[1] !== 'rps')
        throw bad(at(line, col0), 'the first row must be the header `t_seconds,rps`', raw, 't_seconds,rps');
      header = true;
      continue;
    }
    if (cells.length !== 2) throw bad(at(line, col0), 'each row must have two fields', raw, ROW);
    const t = Number(cells[0]);
    const r = Number(cells[1]);
    const T = at(line, col0, 't_seconds');
    const R = at(line, col1, 'rps');
    if (!isDecimal(cells[0] ?? '') || !Number.isFinite(t))
      throw bad(T, 'not a number of seconds (a date or a timestamp? give seconds from the first row)', cells[0], ROW);
    if (!isDecimal(cells[1] ?? '') || !Number.isFinite(r) || r < 0)
      throw bad(
        R,
        'rps must be a decimal number ≥ 0',
        cells[1],
        'a plain decimal >= 0, e.g. 12.5 (no units, no thousands separators)',
      );
    if (r > TRACE_MAX_RPS) throw bad(R, 'rps is above the limit', r, `<= ${TRACE_MAX_RPS}`);
    const prev = n > 0 ? times[n - 1] : undefined;
    if (prev === undefined && t !== 0) throw bad(T, 'the first row must be at t_seconds = 0', t, '0');
    if (prev !== undefined && t <= prev) throw bad(T, 'times must increase strictly', t, `> ${prev}`);
    if (!Number.isInteger(t)) throw bad(T, 't_seconds must be a whole number of seconds', t, 'a whole number, e.g. 60');
    if (t >= TRACE_MAX_SECONDS) {
      // Names the gap too: `0,10` then `400000000,20` is one gap of 12.7 years.
      throw new HeadroomError({
        code: 'HR_INPUT_TOO_LARGE',
        ...T,
        value: t,
        // A gap is named only when it is what crossed the limit: a year at one row a minute was told
        // "a gap of 60 s".
        message:
          t - (prev ?? 0) > 86400
            ? `the trace would span more than 31 days (a gap of ${t - (prev ?? 0)} s after the previous row); it is replayed second by second`
            : `the trace runs past 31 days (this row is at ${t} s); it is replayed second by second: replay at most 31 days at a time`,
        allowed: `t_seconds < ${TRACE_MAX_SECONDS}`,
      });
    }
    if (n === times.length) {
      times = grow(times);
      rates = grow(rates);
      lines = grow(lines);
    }
    times[n] = t;
    rates[n] = r;
    lines[n] = line;
    n++;
  }
  if (!header) throw bad(at(1, 1), 'the trace is empty: expected the header `t_seconds,rps` and rows', undefined, ROW);
  if (n === 0) throw bad(at(line + 1, 1), 'the trace has a header but no rows', undefined, ROW);
  const trace = expand(times.subarray(0, n), rates.subarray(0, n), file);
  const warnings = [
    ...gapWarnings(times.subarray(0, n), rates.subarray(0, n), lines.subarray(0, n), file, trace.rowSeconds),
    ...counterWarnings(rates.subarray(0, n), lines.subarray(0, n), file),
  ];
  return warnings.length ? { ...trace, warnings } : trace;
}

/** Warnings as the CLIs print them on stderr: `warning: file:line: ...`, one a line (as `plan`'s), escaped. */
export function warningLines(warnings: readonly string[] | undefined): string {
  return (warnings ?? []).map((w) => `warning: ${escapeText(w)}\n`).join('');
}

/** `10800` → `3 h 0 min`; `250` → `4 min 10 s`; `97200` → `1 d 3 h`. */
export function spanText(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/**
 * Rows much further apart than usual: the replay holds the earlier row's rate across the gap, so an
 * export that lost 3 hours replays 3 hours of invented demand. Named, never silently held.
 * A gap's size is the time missing: the interval less the usual one (rows at 3540 and 14400 s, 60 s
 * apart elsewhere, miss 3 h 0 min).
 */
function gapWarnings(
  times: Float64Array,
  rates: Float64Array,
  lines: Float64Array,
  file: string,
  rowSeconds: number,
): string[] {
  const out: string[] = [];
  let more = 0;
  let moreSeconds = 0;
  for (let i = 0; i + 1 < times.length; i++) {
    const d = (times[i + 1] ?? 0) - (times[i] ?? 0);
    if (!(d > TRACE_GAP_FACTOR * rowSeconds && d > TRACE_GAP_MIN_SECONDS)) continue;
    if (out.length < TRACE_GAPS_LISTED) {
      out.push(
        `${file}:${lines[i]}: a gap of ${spanText(d - rowSeconds)} after the row at ${times[i]} s (rows are ${rowSeconds} s apart elsewhere): the replay holds ${rates[i]} rps across it`,
      );
    } else {
      more++;
      moreSeconds += d - rowSeconds;
    }
  }
  if (more) {
    out.push(
      `${file}: and ${more} more gap${more > 1 ? 's' : ''} of more than ${TRACE_GAP_FACTOR} × the usual ${rowSeconds} s, ${spanText(moreSeconds)} in all, each held the same way`,
    );
  }
  return out;
}

/** Rates that look like a cumulative counter (see COUNTER_MIN_ROWS): never down, rising most rows, by ≥ 10 ×. */
export function looksLikeCounter(rates: ArrayLike<number>): boolean {
  const n = rates.length;
  if (n < COUNTER_MIN_ROWS) return false;
  let rises = 0;
  for (let i = 1; i < n; i++) {
    const a = rates[i - 1] ?? 0;
    const b = rates[i] ?? 0;
    if (b < a) return false;
    if (b > a) rises++;
  }
  const first = rates[0] ?? 0;
  const last = rates[n - 1] ?? 0;
  return 2 * rises >= n - 1 && last > 0 && last >= COUNTER_MIN_FACTOR * first;
}

// A warning, not an error: a ramp (a load test's, a launch's) is legitimate and looks the same.
function counterWarnings(rates: Float64Array, lines: Float64Array, file: string): string[] {
  if (!looksLikeCounter(rates)) return [];
  const n = rates.length;
  return [
    `${file}:${lines[0]}: the rps column never decreases over its ${n} rows and rises from ${rates[0]} to ${rates[n - 1]} (line ${lines[n - 1]}): it looks like a cumulative counter (e.g. a Prometheus requests_total exported as is), which the replay reads as an ever-rising rate; give requests per second, e.g. from rate(requests_total[1m])`,
  ];
}

function grow(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/** A trace from per-second values (tests, hand-made traces). */
export function traceFromSeconds(values: ArrayLike<number>, source = '<inline>'): Trace {
  return { rps: Float64Array.from(values), rowSeconds: 1, source };
}

/** A trace from `[seconds, rps]` steps, each holding `seconds`. E.g. [[100, 450], [100, 1050]]. */
export function stepTrace(steps: ReadonlyArray<readonly [number, number]>, source = '<steps>'): Trace {
  const out: number[] = [];
  for (const [secs, rps] of steps) for (let i = 0; i < secs; i++) out.push(rps);
  return traceFromSeconds(out, source);
}

function expand(times: Float64Array, rates: Float64Array, source: string): Trace {
  const gaps = new Float64Array(Math.max(0, times.length - 1));
  for (let i = 1; i < times.length; i++) gaps[i - 1] = (times[i] ?? 0) - (times[i - 1] ?? 0);
  gaps.sort();
  const rowSeconds = gaps.length ? (gaps[Math.floor(gaps.length / 2)] ?? 1) : 1;
  const last = times[times.length - 1] ?? 0;
  // The last row holds for the usual row interval, still within the span limit.
  const rps = new Float64Array(Math.min(last + rowSeconds, TRACE_MAX_SECONDS));
  for (let i = 0; i < times.length; i++) {
    const from = times[i] ?? 0;
    const to = i + 1 < times.length ? (times[i + 1] ?? 0) : rps.length;
    rps.fill(rates[i] ?? 0, from, to);
  }
  return { rps, rowSeconds, source };
}

export function tracePeak(trace: Trace): number {
  let peak = 0;
  for (const v of trace.rps) if (v > peak) peak = v;
  return peak;
}

/**
 * Rescale so the maximum is `peak` rps; the shape is unchanged. An all-zero trace has no maximum to
 * scale: HR_USAGE naming `from` (the flag, or the spec key with its file) rather than a silent no-op.
 */
export function rescaleToPeak(
  trace: Trace,
  peak: number,
  from: { path: string; file?: string } = { path: '--peak' },
): Trace {
  const max = tracePeak(trace);
  if (!(max > 0)) {
    throw new HeadroomError({
      code: from.file !== undefined ? 'HR_SPEC_INVALID' : 'HR_USAGE',
      ...from,
      value: peak,
      message: `${from.path} ${peak} rescales the trace's highest rate to ${peak} rps, but every rate in ${trace.source} is 0`,
      allowed: `a trace with a rate above 0, or no ${from.path}`,
    });
  }
  const k = peak / max;
  return { ...trace, rps: trace.rps.map((v) => v * k) };
}

/** The first `seconds` of a trace (tests and quick runs). */
export function sliceTrace(trace: Trace, from: number, to: number): Trace {
  return { ...trace, rps: trace.rps.slice(from, to) };
}
