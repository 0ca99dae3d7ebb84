import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem, HeadroomError } from '../../src/core/errors.ts';
import {
  loadTraceFile,
  parseTraceCsv,
  rescaleToPeak,
  stepTrace,
  tracePeak,
  TRACE_MAX_SECONDS,
} from '../../src/input/trace.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    const p = err instanceof HeadroomError ? err.problems[0] : undefined;
    return err instanceof HeadroomError ? `${err.code} ${p?.line !== undefined ? `line ${p.line}` : ''}` : String(err);
  }
  return undefined;
}

describe('traces', () => {
  it('expands rows to one value per second, each rate holding until the next row', () => {
    const t = parseTraceCsv('t_seconds,rps\n0,10\n3,20\n6,5\n');
    // The last row holds for the usual row interval (3 s).
    expect([...t.rps]).toEqual([10, 10, 10, 20, 20, 20, 5, 5, 5]);
    expect(t.rowSeconds).toBe(3);
  });

  it('skips blank lines and comments, accepts CRLF', () => {
    const t = parseTraceCsv('# made by hand\r\nt_seconds,rps\r\n\r\n0,1\r\n2,3\r\n');
    expect([...t.rps]).toEqual([1, 1, 3, 3]);
  });

  it('rescales to a peak without changing the shape', () => {
    const t = rescaleToPeak(
      stepTrace([
        [2, 5],
        [1, 20],
        [1, 10],
      ]),
      2000,
    );
    expect([...t.rps]).toEqual([500, 500, 2000, 1000]);
    expect(tracePeak(t)).toBe(2000);
  });

  it('rejects malformed traces with a stable code and the line', () => {
    expect(code(() => parseTraceCsv('time,rate\n0,1\n', 'x.csv'))).toBe('HR_TRACE_INVALID line 1');
    expect(code(() => parseTraceCsv('t_seconds,rps\n5,1\n'))).toBe('HR_TRACE_INVALID line 2');
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,1\n0,2\n'))).toBe('HR_TRACE_INVALID line 3');
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,1\n60,-2\n'))).toBe('HR_TRACE_INVALID line 3');
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,abc\n'))).toBe('HR_TRACE_INVALID line 2');
    // Number('0x10') is 16: a trace takes plain decimals only, as every numeric flag does.
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,0x10\n'))).toBe('HR_TRACE_INVALID line 2');
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,1\n0x3c,2\n'))).toBe('HR_TRACE_INVALID line 3');
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,1,2\n'))).toBe('HR_TRACE_INVALID line 2');
    expect(code(() => parseTraceCsv('t_seconds,rps\n'))).toBe('HR_TRACE_INVALID line 2');
    expect(code(() => parseTraceCsv(''))).toBe('HR_TRACE_INVALID line 1');
    expect(code(() => loadTraceFile('/nonexistent/trace.csv'))).toBe('HR_FILE_READ ');
  });

  it('says file:line:column, the field and the form allowed, as every input error (errors.md)', () => {
    const line = (text: string): string => {
      try {
        parseTraceCsv(text, 'x.csv');
      } catch (err) {
        return (err as HeadroomError).problems.map(formatProblem).join('\n');
      }
      return '';
    };
    expect(line('t_seconds,rps\n0,1\n0,2\n')).toBe(
      'HR_TRACE_INVALID x.csv:3:1: t_seconds: times must increase strictly (value: 0; allowed: > 0)',
    );
    expect(line('t_seconds,rps\n0,1\n60,  12 rps\n')).toBe(
      'HR_TRACE_INVALID x.csv:3:6: rps: rps must be a decimal number ≥ 0 (value: "12 rps"; allowed: a plain decimal >= 0, e.g. 12.5 (no units, no thousands separators))',
    );
    expect(line('t_seconds,rps\n2026-11-01T00:00:00Z,5\n')).toMatch(
      /^HR_TRACE_INVALID x\.csv:2:1: t_seconds: not a number of seconds \(a date or a timestamp\? .*allowed: t_seconds,rps: whole seconds from 0/,
    );
    expect(line('t_seconds,rps\n0,1,2\n')).toMatch(
      /^HR_TRACE_INVALID x\.csv:2:1: each row must have two fields .*e\.g\. `60,12\.5`/,
    );
  });

  it('loads the shipped traces: 7 days at 60 s and 300 s rows', () => {
    for (const [name, row] of [
      ['worldcup98_may25_week', 60],
      ['nasa_kennedy_jul1995_week', 60],
      ['azurevm2019_cpu_week', 300],
    ] as const) {
      const t = loadTraceFile(new URL(`../../traces/${name}.csv`, import.meta.url).pathname);
      expect(t.rps.length).toBe(7 * 86400);
      expect(t.rowSeconds).toBe(row);
    }
  });

  it('reads a file from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-trace-'));
    const f = join(dir, 't.csv');
    writeFileSync(f, 't_seconds,rps\n0,4\n10,8\n');
    expect(loadTraceFile(f).rps.length).toBe(20);
  });

  it('bounds span, gaps and rates: three-line traces that took GBs or minutes are coded errors', () => {
    // 0,10 then 400000000,20: a 12.7-year gap (took > 6 GB); 1e308 rps (CPU-bound > 90 s); 1e20 s (RangeError).
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,10\n400000000,20\n'))).toBe('HR_INPUT_TOO_LARGE line 3');
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,1e308\n60,1e308\n'))).toBe('HR_TRACE_INVALID line 2');
    expect(code(() => parseTraceCsv('t_seconds,rps\n0,1\n1e20,1\n'))).toBe('HR_INPUT_TOO_LARGE line 3');
    expect(code(() => loadTraceFile('/dev/zero'))).toBe('HR_FILE_READ ');
    // A year at one row a minute is past 31 days, not "a gap of 60 s"; a long gap is named as one.
    const year = ['t_seconds,rps', ...Array.from({ length: 44_700 }, (_, i) => `${i * 60},5`)].join('\n');
    const msg = (text: string): string => {
      try {
        parseTraceCsv(text);
      } catch (err) {
        return (err as HeadroomError).problems[0]?.message ?? '';
      }
      return '';
    };
    expect(msg(year)).toBe(
      'the trace runs past 31 days (this row is at 2678400 s); it is replayed second by second: replay at most 31 days at a time',
    );
    expect(msg('t_seconds,rps\n0,10\n400000000,20\n')).toMatch(/a gap of 400000000 s after the previous row/);
    // 31 days is allowed, and the last row's hold stays within it.
    const t = parseTraceCsv(`t_seconds,rps\n0,1\n${TRACE_MAX_SECONDS - 1},2\n`);
    expect(t.rps.length).toBe(TRACE_MAX_SECONDS);
  });

  it('memory grows with the rows: 2,000,000 rows at 1 s parse in bounded heap', () => {
    const rows = ['t_seconds,rps'];
    for (let i = 0; i < 2_000_000; i++) rows.push(`${i},${i % 100}`);
    const text = rows.join('\n');
    rows.length = 0;
    const before = process.memoryUsage().heapUsed;
    const t = parseTraceCsv(text);
    expect(t.rps.length).toBe(2_000_000);
    // 16 MB for the per-second values, plus the typed row arrays (~32 MB at most while growing).
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 2 ** 20);
  });
});
