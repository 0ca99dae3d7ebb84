// `headroom loadtest`'s flags → the run's Config: every bad flag reported together (HR_USAGE), the
// target URL checked (HR_LOADTEST_TARGET). loadtest.ts declares the flags and runs the test.
import { readFileSync } from 'node:fs';
import { HeadroomError, redactUrl, type ProblemDetail } from '../core/errors.ts';
import { checkNumberFlag, type NumberRule } from './flags.ts';
import type { RequestTemplate } from '../loadtest/generator.ts';
import type { SearchPlan } from '../loadtest/search.ts';

export interface RawOptions {
  sloLatencyMs: string;
  sloPercentile: string;
  startRps: string;
  /** Undefined: 1.5, unless --increment-rps is given (the two are alternatives). */
  factor?: string;
  incrementRps?: string;
  maxRps: string;
  warmup: string;
  hold: string;
  refine: string;
  cooldown: string;
  maxErrorRate: string;
  maxDuration: string;
  maxRequests: string;
  maxInFlight: string;
  connections?: string;
  timeout: string;
  lateMs: string;
  probeRequests: string;
  method: string;
  header: string[];
  body?: string;
  bodyFile?: string;
  json?: boolean;
  profile?: string;
  report?: string;
  progress: boolean;
}

/** Default sequential probe requests, and the probe's time cap (it also gets ≤ 10 % of the budgets). */
export const PROBE_REQUESTS = 2000;
export const PROBE_MAX_MS = 20_000;

/**
 * The probe's own bounds: at most `requests`, at most 20 s, and at most 10 % of --max-duration and
 * of --max-requests, so the steps keep their budget. E.g. defaults (300 s, 1,000,000): 2,000
 * requests or 20 s; --max-duration 60: 6 s; --max-requests 700: 70 requests.
 */
export function probeBounds(cfg: Pick<Config, 'probeRequests' | 'plan'>): { requests: number; maxMs: number } {
  return {
    requests: Math.min(cfg.probeRequests, Math.floor(cfg.plan.maxRequests / 10)),
    maxMs: Math.min(PROBE_MAX_MS, cfg.plan.maxDurationS * 100),
  };
}

/**
 * --slo-percentile is a percent: 99 for p99. Below 50 is refused (no SLO is a median or lower; 0.99
 * is almost surely p99 written as a fraction, which would measure the knee at p0.99).
 */
export const PERCENTILE_RULE: NumberRule = { min: 50, max: 99.9999 };

/** The hint for a percentile written as a fraction (0 < p ≤ 1), as the spec's slo.percentile gives. */
export function fractionHint(p: number): string | undefined {
  return p > 0 && p <= 1 ? `${p} looks like a fraction: the percentile is a percent, 99 for p99` : undefined;
}

/**
 * The target URL: http(s) with a host, and a port 1–65535 if one is written. WHATWG URL rejects a
 * bad port with the same error as a bad URL, so the authority's port is checked first to say which.
 */
function parseTarget(url: string): URL {
  const port = /^https?:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):([^/?#]*)/i.exec(url)?.[1];
  if (port !== undefined && port !== '' && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw new HeadroomError({
      code: 'HR_LOADTEST_TARGET',
      message: `the port of ${redactUrl(url)} is invalid`,
      value: port,
      allowed: '1–65535',
    });
  }
  let target: URL | undefined;
  try {
    target = new URL(url);
  } catch {
    // not a URL at all
  }
  if (!target || (target.protocol !== 'http:' && target.protocol !== 'https:')) {
    throw new HeadroomError({
      code: 'HR_LOADTEST_TARGET',
      message: 'the target is not an http:// or https:// URL',
      value: redactUrl(url),
      allowed: 'http://host:port/path or https://host:port/path',
    });
  }
  return target;
}

function usage(flag: string, value: unknown, allowed: string): ProblemDetail {
  return { code: 'HR_USAGE', message: `${flag} is out of range`, path: flag, value, allowed };
}

export interface Config {
  template: RequestTemplate;
  plan: SearchPlan;
  maxInFlight: number;
  connections: number;
  lateMs: number;
  probeRequests: number;
}

export function parseConfig(url: string, raw: RawOptions): Config {
  const problems: ProblemDetail[] = [];
  const num = (flag: string, v: string | undefined, rule: NumberRule): number => {
    const r = checkNumberFlag(flag, v, rule);
    if (r.problem) problems.push(r.problem);
    return r.value ?? NaN;
  };
  const target = parseTarget(url);
  // Upper bounds are the schema's (an SLO of at most an hour) or what one generator can do.
  const sloLatencyMs = num('--slo-latency-ms', raw.sloLatencyMs, { min: 0, minExclusive: true, max: 3_600_000 });
  const percentile = num('--slo-percentile', raw.sloPercentile, PERCENTILE_RULE);
  const pctProblem = problems.at(-1);
  if (pctProblem?.path === '--slo-percentile') {
    const hint = fractionHint(Number(raw.sloPercentile));
    if (hint) pctProblem.message += `; ${hint}`;
  }
  const startRps = num('--start-rps', raw.startRps, { min: 0, minExclusive: true, max: 1_000_000 });
  const factor = num('--factor', raw.factor ?? '1.5', { min: 1, minExclusive: true, max: 100 });
  if (raw.factor !== undefined && raw.incrementRps !== undefined)
    problems.push({
      ...usage('--increment-rps', raw.incrementRps, 'either --factor (geometric steps) or --increment-rps (linear)'),
      message: '--increment-rps with --factor: the steps are linear or geometric, not both',
    });
  const incrementRps =
    raw.incrementRps !== undefined
      ? num('--increment-rps', raw.incrementRps, { min: 0, minExclusive: true, max: 1_000_000 })
      : undefined;
  const maxRps = num('--max-rps', raw.maxRps, { min: 0, minExclusive: true, max: 1_000_000 });
  if (startRps > maxRps) problems.push(usage('--start-rps', raw.startRps, `<= --max-rps (${raw.maxRps})`));
  const warmupS = num('--warmup', raw.warmup, { min: 0, max: 3600, unit: 's' });
  const holdS = num('--hold', raw.hold, { min: 0.1, max: 3600, unit: 's' });
  const refine = num('--refine', raw.refine, { min: 0, max: 20, int: true });
  const cooldownS = num('--cooldown', raw.cooldown, { min: 0, max: 600, unit: 's' });
  const errPct = num('--max-error-rate', raw.maxErrorRate, { min: 0, max: 100, unit: '%' });
  const maxDurationS = num('--max-duration', raw.maxDuration, { min: 0, minExclusive: true, max: 86_400, unit: 's' });
  const maxRequests = num('--max-requests', raw.maxRequests, { min: 1, max: 1e12, int: true });
  const maxInFlight = num('--max-in-flight', raw.maxInFlight, { min: 1, max: 100_000, int: true });
  const connections =
    raw.connections !== undefined
      ? num('--connections', raw.connections, { min: 1, max: 100_000, int: true })
      : maxInFlight;
  const timeoutMs = num('--timeout', raw.timeout, { min: 1, max: 600_000, unit: 'ms' });
  const lateMs = num('--late-ms', raw.lateMs, { min: 0, max: 600_000, unit: 'ms' });
  const probeRequests = num('--probe-requests', raw.probeRequests, { min: 0, max: 10_000, int: true });
  const method = raw.method.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) problems.push(usage('--method', raw.method, 'an HTTP method, e.g. GET, POST'));
  const headers: Record<string, string> = {};
  for (const h of raw.header) {
    const i = h.indexOf(':');
    const name = i > 0 ? h.slice(0, i).trim() : '';
    // A CR or LF in the value would inject headers into the raw request bytes.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(h)) {
      problems.push(usage('--header', h, "'Name: value'"));
      continue;
    }
    headers[name.toLowerCase()] = h.slice(i + 1).trim();
  }
  let body = raw.body;
  if (raw.bodyFile !== undefined) {
    if (body !== undefined) problems.push(usage('--body-file', raw.bodyFile, 'either --body or --body-file'));
    try {
      body = readFileSync(raw.bodyFile, 'utf8');
    } catch (err) {
      problems.push({
        code: 'HR_FILE_READ',
        message: `cannot read --body-file: ${(err as Error).message}`,
        file: raw.bodyFile,
      });
    }
  }
  if (problems.length) throw new HeadroomError(problems);
  return {
    template: { url: target, method, headers, ...(body !== undefined ? { body } : {}), timeoutMs },
    plan: {
      slo: { latencyMs: sloLatencyMs, percentile },
      startRps,
      factor,
      ...(incrementRps !== undefined ? { incrementRps } : {}),
      maxRps,
      warmupS,
      holdS,
      refine,
      cooldownS,
      errorRateLimit: errPct / 100,
      maxDurationS,
      maxRequests,
    },
    maxInFlight,
    connections,
    lateMs,
    probeRequests,
  };
}
