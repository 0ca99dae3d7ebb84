// Stable error codes. Every code is catalogued in docs/errors.md (a test checks both ways).
// An error says what was wrong, where (file, key path), the value, and what is allowed.

export const ERROR_CODES = {
  HR_USAGE: 'The command line is wrong: unknown flag, missing argument or a flag value out of range.',
  HR_FILE_READ: 'A file named on the command line or in a spec cannot be read.',
  HR_SPEC_PARSE: 'A spec file is not valid YAML or JSON.',
  HR_SPEC_INVALID: 'A spec value has the wrong type, is missing, or is outside its allowed range.',
  HR_QUANTITY: 'A CPU or memory quantity is not a Kubernetes quantity (e.g. 500m, 2, 256Mi, 1Gi).',
  HR_SLO_UNREACHABLE:
    'The latency SLO cannot be met at any instance count: the service time alone exceeds it at that percentile.',
  HR_AVAILABILITY_IMPOSSIBLE: 'The availability rule cannot be met, e.g. zoneFailures is not below zones.',
  HR_SERVICE_TIME:
    'The service-time distribution is impossible: quantiles that do not increase, quantiles the mean cannot allow, or a profile probe with too few samples.',
  HR_PROFILE_INVALID: 'A capacity profile (from `headroom loadtest`) is missing fields or is not a profile.',
  HR_DUPLICATE_NAME: 'Two services in one spec have the same name.',
  HR_LOADTEST_TARGET: 'The load-test target cannot be reached: refused, not HTTP, TLS failure or bad URL.',
  HR_LOADTEST_ABORTED:
    'The load test stopped early (Ctrl-C, error-rate limit or time limit); the partial result is reported.',
  HR_LOADTEST_TIMEOUT: 'The load-test target accepted the connection but sent no response within the request timeout.',
  HR_LOADTEST_ERROR_RATE:
    'Even the lowest load-test step exceeded the error-rate limit (5xx, timeouts, resets): no capacity was found.',
  HR_LOADTEST_NO_KNEE:
    'Even the lowest load-test step broke the latency SLO: no capacity was found; lower --start-rps.',
  HR_TRACE_INVALID: 'A trace CSV is malformed: header, numbers, or times not strictly increasing from 0.',
  HR_PORT_IN_USE: 'A port Headroom must listen on (load balancer or status server) is already in use.',
  HR_COMMAND_NOT_FOUND: 'The service command of `headroom run` cannot be started: not found or not executable.',
  HR_HEALTH_CHECK_FAILED:
    'No instance of the service became ready (health check answered 2xx) within the startup timeout.',
  HR_ALERT_RULE_INVALID: 'An alert rule (alerts.rules) has a wrong, missing or out-of-range value.',
  HR_ALERT_ROUTE_INVALID: 'An alert receiver or route (alerts.receivers, alerts.route) is wrong.',
  HR_ALERT_SECRET: 'A notifier secret is written in the YAML, or its environment variable or file is missing.',
  HR_ALERT_NOTIFY_FAILED: 'A notification could not be delivered: retries exhausted or dropped from a full queue.',
  HR_TOKEN_REQUIRED:
    'The status server / dashboard is asked to listen on a non-loopback address without a token, or the token is too short.',
  HR_INTERNAL: 'A bug in Headroom: please report it with the command and spec.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ProblemDetail {
  code: ErrorCode;
  /** Human message: what was wrong and what is allowed. */
  message: string;
  /** File the problem is in, when there is one. */
  file?: string;
  /** Key path inside the file, e.g. services[0].slo.latencyMs. */
  path?: string;
  /** The offending value, as written. */
  value?: unknown;
  /** The allowed range or form, e.g. ">= 92.1" or "one of leastRequests, random". */
  allowed?: string;
}

export class HeadroomError extends Error {
  readonly code: ErrorCode;
  readonly problems: readonly ProblemDetail[];

  constructor(problems: ProblemDetail | readonly ProblemDetail[]) {
    const list = Array.isArray(problems) ? (problems as readonly ProblemDetail[]) : [problems as ProblemDetail];
    super(list.map(formatProblem).join('\n'));
    this.name = 'HeadroomError';
    this.code = list[0]?.code ?? 'HR_INTERNAL';
    this.problems = list;
  }
}

/** One line: `CODE file: path: message (value: X; allowed: Y)`. */
export function formatProblem(p: ProblemDetail): string {
  const where = [p.file, p.path].filter((s) => s !== undefined && s !== '').join(': ');
  const extra: string[] = [];
  if (p.value !== undefined) extra.push(`value: ${JSON.stringify(p.value)}`);
  if (p.allowed !== undefined) extra.push(`allowed: ${p.allowed}`);
  return `${p.code} ${where ? `${where}: ` : ''}${p.message}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

/** Key path for humans: ['services', 0, 'slo'] → services[0].slo */
export function keyPath(path: ReadonlyArray<string | number | symbol>): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out;
}
