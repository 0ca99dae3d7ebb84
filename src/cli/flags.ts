// Numeric command-line flags, parsed in ONE place for every command. Only plain decimal numbers
// are numbers here: `Number()` alone reads '' as 0, '0x10' as 16, ' 1e3 ' and '0b11' too, and
// 1e308 passes `Number.isFinite`. Each flag states its range, which is also what the error prints.
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';
import { isDecimal } from '../input/decimal.ts';

export interface NumberRule {
  min: number;
  max: number;
  /** min itself is not allowed (e.g. a rate > 0). */
  minExclusive?: boolean;
  /** Whole numbers only. */
  int?: boolean;
  /** The unit, for the message: "rps", "s", "%". */
  unit?: string;
}

/** The allowed range as printed: "0..1000000000 rps", "> 0 and <= 100 %", "whole number 1..600". */
export function ruleText(r: NumberRule): string {
  const unit = r.unit ? ` ${r.unit}` : '';
  const range = r.minExclusive ? `> ${r.min} and <= ${r.max}` : `${r.min}..${r.max}`;
  return `${r.int ? 'a whole number ' : ''}${range}${unit}`;
}

/** The number, or the problem (callers that report every bad flag together collect these). */
export function checkNumberFlag(
  flag: string,
  raw: string | undefined,
  rule: NumberRule,
): { value: number; problem?: undefined } | { value?: undefined; problem: ProblemDetail } {
  const bad = (message: string): { problem: ProblemDetail } => ({
    problem: { code: 'HR_USAGE', path: flag, value: raw ?? '', message, allowed: ruleText(rule) },
  });
  if (raw === undefined || !isDecimal(raw)) return bad('not a decimal number');
  const x = Number(raw);
  if (rule.int && !Number.isInteger(x)) return bad('not a whole number');
  if (!(rule.minExclusive ? x > rule.min : x >= rule.min) || !(x <= rule.max)) return bad('out of range');
  return { value: x };
}

/** The number; throws HR_USAGE naming the flag, the value and the range. */
export function parseNumberFlag(flag: string, raw: string, rule: NumberRule): number;
export function parseNumberFlag(flag: string, raw: string | undefined, rule: NumberRule): number | undefined;
export function parseNumberFlag(flag: string, raw: string | undefined, rule: NumberRule): number | undefined {
  if (raw === undefined) return undefined;
  const r = checkNumberFlag(flag, raw, rule);
  if (r.problem) throw new HeadroomError(r.problem);
  return r.value;
}

/** A commander argument parser: `.option('--port <n>', '...', numberFlag('--port', {...}))`. */
export function numberFlag(flag: string, rule: NumberRule): (raw: string) => number {
  return (raw) => parseNumberFlag(flag, raw, rule);
}

/** An HR_USAGE error naming the flag, its value and what is allowed. */
export function usageError(path: string, value: unknown, message: string, allowed?: string): HeadroomError {
  return new HeadroomError({ code: 'HR_USAGE', path, value, message, ...(allowed ? { allowed } : {}) });
}

/** `--prometheus`: an http(s) base URL (controller, backtest). */
export function prometheusUrlFlag(raw: string): string {
  if (!/^https?:\/\/[^/]+/.test(raw))
    throw usageError('--prometheus', raw, 'not an http(s) URL', 'e.g. http://prometheus:9090');
  return raw;
}
