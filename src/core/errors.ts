// Stable error codes. Every code is catalogued in docs/errors.md (a test checks both ways).
// An error says what was wrong, where (file, key path), the value, and what is allowed.

export const ERROR_CODES = {
  HR_USAGE: 'The command line is wrong: unknown flag, missing argument or a flag value out of range.',
  HR_FILE_READ: 'A file named on the command line or in a spec cannot be read.',
  HR_SPEC_PARSE: 'A spec file is not valid YAML or JSON.',
  HR_SPEC_INVALID: 'A spec value has the wrong type, is missing, or is outside its allowed range.',
  HR_QUANTITY: 'A CPU or memory quantity is not a Kubernetes quantity (e.g. 500m, 2, 256Mi, 1Gi).',
  HR_INPUT_TOO_LARGE:
    'An input exceeds a size limit: file bytes, YAML alias expansions, nodes after count, trace span or rows.',
  HR_SLO_UNREACHABLE:
    'The latency SLO cannot be met at any instance count: the service time alone exceeds it at that percentile.',
  HR_AVAILABILITY_IMPOSSIBLE: 'The availability rule cannot be met, e.g. zoneFailures is not below zones.',
  HR_SERVICE_TIME:
    'The service-time distribution is impossible: quantiles that do not increase, quantiles the mean cannot allow, or a profile probe with too few samples.',
  HR_PROFILE_INVALID: 'A capacity profile (from `headroom loadtest`) is missing fields or is not a profile.',
  HR_PRICING:
    'A pricing block is ambiguous or incomplete: instanceHour mixed with cpuHour/memoryGiBHour, no price, no currency, a price for a request the service does not give, or two currencies in one file.',
  HR_DUPLICATE_NAME:
    'Two services in one spec, or two HorizontalPodAutoscalers imported together, have the same (namespace and) name.',
  HR_GRAPH_CYCLE: 'A call graph has a cycle: a service calls, directly or through others, back to itself.',
  HR_GRAPH_UNKNOWN_SERVICE: 'A service calls a service that the spec does not define.',
  HR_GRAPH_PER_REQUEST: 'A call has perRequest ≤ 0 or not a finite number.',
  HR_GRAPH_ENTRY: 'An end-to-end SLO is not on an entry (a service that something calls), or a file has more than one.',
  HR_GRAPH_DEMAND: "A called service's own demand.rps disagrees with the demand its callers send it.",
  HR_GRAPH_SLO_FLOOR:
    'The end-to-end SLO is below what the call graph takes even with no queueing at any service (its floor).',
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
  HR_STATE_FILE:
    'The state file of `headroom run` (run.stateFile, --state) is not one it wrote (not JSON, another kind or version) or cannot be written.',
  HR_COMMAND_NOT_FOUND: 'The service command of `headroom run` cannot be started: not found or not executable.',
  HR_HEALTH_CHECK_FAILED:
    'No instance of the service became ready (health check answered 2xx) within the startup timeout.',
  HR_ALERT_RULE_INVALID: 'An alert rule (alerts.rules) has a wrong, missing or out-of-range value.',
  HR_ALERT_ROUTE_INVALID: 'An alert receiver or route (alerts.receivers, alerts.route) is wrong.',
  HR_ALERT_SECRET: 'A notifier secret is written in the YAML, or its environment variable or file is missing.',
  HR_ALERT_NOTIFY_FAILED: 'A notification could not be delivered: retries exhausted or dropped from a full queue.',
  HR_TOKEN_REQUIRED:
    'The status server / dashboard is asked to listen on a non-loopback address without a token, or the token is too short.',
  HR_NOT_HPA:
    'An input of `headroom import hpa` is not a HorizontalPodAutoscaler (autoscaling/v1, v2, v2beta2, v2beta1), nor a List of them.',
  HR_HPA_INVALID:
    'A HorizontalPodAutoscaler lacks what a HeadroomPolicy needs (name, scaleTargetRef, maxReplicas) or has a value the policy cannot take.',
  HR_HPA_UNMAPPED:
    'An HPA metric Headroom cannot map (memory, CPU as an amount, Pods/Object/External/ContainerResource): a warning naming it, an error with --strict.',
  HR_HPA_NOT_FOUND: 'A HorizontalPodAutoscaler named on the command line does not exist, or there is none to import.',
  HR_KUBE_UNREACHABLE:
    'The Kubernetes apiserver cannot be reached or did not answer: no usable kubeconfig, connection refused, TLS failure, timeout, a server error.',
  HR_KUBE_FORBIDDEN:
    'The Kubernetes apiserver refused the request: 401 (credentials) or 403 (RBAC does not allow the verb).',
  HR_SCALE_TARGET:
    "A HeadroomPolicy's scaleTargetRef names nothing the apiserver can scale: no such object, no scale subresource, an API group/version or kind not served.",
  HR_FILE_WRITE:
    'An output file cannot be written: it exists already (without --force), or the directory is not writable.',
  HR_PROMETHEUS_UNREACHABLE:
    'Prometheus cannot be reached (`headroom backtest --prometheus`): connection refused, DNS, TLS or a timeout.',
  HR_PROMETHEUS_QUERY:
    'Prometheus answered a query with an error or a non-2xx status (bad PromQL, too many points, not Prometheus at all).',
  HR_PROMETHEUS_EMPTY:
    'A Prometheus query returned no data in the range asked for (or no step has both demand and replicas).',
  HR_PROMETHEUS_SERIES:
    'A Prometheus query returned several series where one was needed: aggregate them, e.g. sum(...).',
  HR_PROMETHEUS_GAPS:
    'A warning: history from Prometheus has steps without a value; they are skipped and counted, never read as zero.',
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
  /** Line and column (1-based) where `path` is written in `file`, when known. */
  line?: number;
  column?: number;
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

/**
 * One line: `CODE file:line:column: path: message (value: X; allowed: Y)` (the file:line:column
 * that editors and terminals open). Everything that came from outside
 * (file name, key path, value) is escaped — a newline or ESC in a file name cannot forge a second
 * error line or recolour the terminal — and a value is cut at 200 characters (a 5 MB name prints
 * 200 characters and its length).
 */
export function formatProblem(p: ProblemDetail): string {
  const line = p.line !== undefined ? `:${p.line}:${p.column ?? 1}` : '';
  const file = p.file !== undefined ? `${p.file}${line}` : line ? `line ${p.line}, column ${p.column ?? 1}` : undefined;
  const where = [file, p.path]
    .filter((s) => s !== undefined && s !== '')
    .map((s) => escapeText(String(s)))
    .join(': ');
  const extra: string[] = [];
  if (p.value !== undefined) extra.push(`value: ${showValue(p.value)}`);
  if (p.allowed !== undefined) extra.push(`allowed: ${p.allowed}`);
  return `${p.code} ${where ? `${where}: ` : ''}${escapeText(p.message)}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

/**
 * One line per key: zod reports `name: AAA…` both as too long and as not a DNS label, with two
 * "allowed" texts that read as if they disagreed. Problems with the same code, file and path are
 * merged: messages joined with "; ", distinct allowed texts with " and ".
 */
export function mergeProblems(list: readonly ProblemDetail[]): ProblemDetail[] {
  const out: ProblemDetail[] = [];
  const byKey = new Map<string, ProblemDetail>();
  for (const p of list) {
    if (p.path === undefined) {
      out.push(p);
      continue;
    }
    const key = `${p.code}\u0000${p.file ?? ''}\u0000${p.path}`;
    const prev = byKey.get(key);
    if (!prev) {
      const copy = { ...p };
      byKey.set(key, copy);
      out.push(copy);
      continue;
    }
    if (!prev.message.split('; ').includes(p.message)) prev.message = `${prev.message}; ${p.message}`;
    if (p.allowed !== undefined && prev.allowed !== p.allowed) {
      prev.allowed = prev.allowed === undefined ? p.allowed : `${prev.allowed} and ${p.allowed}`;
    }
    if (prev.value === undefined && p.value !== undefined) prev.value = p.value;
  }
  return out;
}

export const VALUE_PREVIEW_CHARS = 200;

/**
 * A value as errors show it: JSON-like, NaN and ±Infinity as text (JSON would say `null`), control
 * and bidi characters escaped, at most 200 characters. Walks only as far as it prints, so a
 * 1,000,000-item array or a cyclic YAML alias costs nothing.
 */
export function showValue(v: unknown, limit = VALUE_PREVIEW_CHARS): string {
  const out: string[] = [];
  let len = 0;
  let full = false;
  const put = (s: string): boolean => {
    if (full) return false;
    if (len + s.length > limit) {
      out.push(s.slice(0, Math.max(0, limit - len)));
      full = true;
      return false;
    }
    out.push(s);
    len += s.length;
    return true;
  };
  const walk = (x: unknown, depth: number): void => {
    if (full) return;
    // A string is cut before it is quoted: a 5 MB name is not copied to print 200 characters.
    if (typeof x === 'string') put(escapeText(JSON.stringify(x.length > limit ? x.slice(0, limit) : x)));
    else if (typeof x === 'number') put(Number.isFinite(x) ? JSON.stringify(x) : String(x));
    else if (x === null || typeof x === 'boolean') put(String(x));
    else if (typeof x === 'bigint') put(`${x}`);
    else if (typeof x !== 'object') put(`<${typeof x}>`);
    else if (depth > 8) put('…');
    else if (Array.isArray(x)) {
      put('[');
      for (let i = 0; i < x.length && !full; i++) {
        if (i > 0) put(',');
        walk(x[i], depth + 1);
      }
      put(']');
    } else {
      put('{');
      let first = true;
      for (const k in x) {
        if (full) break;
        if (!first) put(',');
        first = false;
        put(`${escapeText(JSON.stringify(k))}:`);
        walk((x as Record<string, unknown>)[k], depth + 1);
      }
      put('}');
    }
  };
  walk(v, 0);
  const text = out.join('');
  if (!full) return text;
  const size = typeof v === 'string' ? `${v.length} characters` : Array.isArray(v) ? `${v.length} items` : 'cut';
  return `${text}… (${size})`;
}

/** C0/C1 controls, DEL, line/paragraph separators and bidi overrides as \u escapes. */
export function escapeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A URL without its `user:password@` part, for messages and reports. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    if (u.username === '' && u.password === '') return u.href;
    u.username = '';
    u.password = '';
    return u.href.replace('://', '://***@');
  } catch {
    return String(url).replace(/\/\/[^/@\s]*@/, '//***@');
  }
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
