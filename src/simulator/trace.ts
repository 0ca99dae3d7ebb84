// Request-rate traces: CSV `t_seconds,rps`, the rate holding until the next row, expanded to one
// value per second (the simulator's step). The last row holds for the trace's usual row interval,
// e.g. 10,080 rows at 60 s → 604,800 seconds.
import { readFileSync } from 'node:fs';
import { HeadroomError } from '../core/errors.ts';

export interface Trace {
  /** Demand in requests per second for second i = [i, i+1). */
  readonly rps: Float64Array;
  /** Seconds between the CSV's rows (the median; 60 for the shared traces). */
  readonly rowSeconds: number;
  /** Where it came from, for reports. */
  readonly source: string;
}

export function loadTraceFile(path: string): Trace {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HeadroomError({
      code: 'HR_FILE_READ',
      message: `cannot read the trace: ${(err as Error).message}`,
      file: path,
    });
  }
  return parseTraceCsv(text, path);
}

/** Parse `t_seconds,rps` rows (header required; blank lines and `#` comments skipped). */
export function parseTraceCsv(text: string, file = '<trace>'): Trace {
  const bad = (line: number, message: string, value?: unknown, allowed?: string): HeadroomError =>
    new HeadroomError({ code: 'HR_TRACE_INVALID', message, file, path: `line ${line}`, value, allowed });
  const times: number[] = [];
  const rates: number[] = [];
  let header = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const cells = raw.split(',').map((c) => c.trim());
    if (!header) {
      if (cells[0] !== 't_seconds' || cells[1] !== 'rps')
        throw bad(i + 1, 'the first row must be the header `t_seconds,rps`', raw, 't_seconds,rps');
      header = true;
      continue;
    }
    if (cells.length !== 2) throw bad(i + 1, 'each row must have two fields: t_seconds,rps', raw);
    const t = Number(cells[0]);
    const r = Number(cells[1]);
    if (cells[0] === '' || !Number.isFinite(t)) throw bad(i + 1, 't_seconds is not a number', cells[0]);
    if (cells[1] === '' || !Number.isFinite(r) || r < 0) throw bad(i + 1, 'rps must be a number ≥ 0', cells[1], '>= 0');
    const prev = times[times.length - 1];
    if (prev === undefined && t !== 0) throw bad(i + 1, 'the first row must be at t_seconds = 0', t, '0');
    if (prev !== undefined && t <= prev) throw bad(i + 1, 'times must increase strictly', t, `> ${prev}`);
    if (!Number.isInteger(t)) throw bad(i + 1, 't_seconds must be a whole number of seconds', t);
    times.push(t);
    rates.push(r);
  }
  if (!header) throw bad(1, 'the trace is empty: expected the header `t_seconds,rps` and rows');
  if (times.length === 0) throw bad(2, 'the trace has a header but no rows');
  return expand(times, rates, file);
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

function expand(times: number[], rates: number[], source: string): Trace {
  const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
  const rowSeconds = gaps.length ? (gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)] ?? 1) : 1;
  const last = times[times.length - 1] ?? 0;
  const rps = new Float64Array(last + rowSeconds);
  for (let i = 0; i < times.length; i++) {
    const from = times[i] ?? 0;
    const to = i + 1 < times.length ? (times[i + 1] ?? 0) : last + rowSeconds;
    rps.fill(rates[i] ?? 0, from, to);
  }
  return { rps, rowSeconds, source };
}

export function tracePeak(trace: Trace): number {
  let peak = 0;
  for (const v of trace.rps) if (v > peak) peak = v;
  return peak;
}

/** Rescale so the maximum is `peak` rps; the shape is unchanged. */
export function rescaleToPeak(trace: Trace, peak: number): Trace {
  const max = tracePeak(trace);
  if (max <= 0) return trace;
  const k = peak / max;
  return { ...trace, rps: trace.rps.map((v) => v * k) };
}

/** The first `seconds` of a trace (tests and quick runs). */
export function sliceTrace(trace: Trace, from: number, to: number): Trace {
  return { ...trace, rps: trace.rps.slice(from, to) };
}
