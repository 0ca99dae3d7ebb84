// The `alerts:` section of a Headroom YAML file (a spec file or a file of its own):
//
//   alerts:
//     defaults: true            # built-in rules (src/alerting/defaults.ts); same name replaces one
//     rules: [...]              # metric/op/threshold or expr: "instance.cpuUtilization > 90%"
//     receivers: [...]          # email | webhook | slack | alertmanager, secrets from env or file
//     route: {...}              # Alertmanager-style: receiver, groupBy, groupWait, routes...
//     delivery: {...}           # retry queue size, backoff, send timeout
//
// Validated once with zod; every problem names the file, key path, value and what is allowed.
import { parseInputText } from '../input/load.ts';
import { readInputFile, SPEC_MAX_BYTES } from '../input/read.ts';
import { z } from 'zod';
import { HeadroomError, keyPath, type ErrorCode, type ProblemDetail } from '../core/errors.ts';
import { deepFreeze, valueAt } from '../input/load.ts';
import { defaultRules } from './defaults.ts';
import { templateProblems } from './template.ts';
import type { AlertRule, Comparison, MetricName } from './types.ts';

export const METRICS = [
  'instance.cpuUtilization',
  'instance.memoryUtilization',
  'instance.restarts',
  'service.cpuUtilization',
  'service.memoryUtilization',
  'service.latencyMs',
  'service.latencyRatio',
  'service.burnRate',
  'service.errorRate',
  'service.desired',
  'service.current',
  'service.ready',
  'service.unready',
  'service.needed',
  'service.fits',
  'service.demandRps',
  'service.demandTrend',
  'service.atMaxWhileGrowing',
  'service.modelError',
] as const satisfies readonly MetricName[];

const OPS = ['>', '>=', '<', '<=', '==', '!='] as const satisfies readonly Comparison[];
/** Prometheus-style durations: 90s, 5m, 1h30m, 14d, 250ms. */
export const DURATION_RE = /^(\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const LABEL_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys that would put a secret in the YAML; they are refused (with no value echoed). */
const INLINE_SECRET_KEYS = new Set(['password', 'token', 'bearerToken', 'authorization', 'apiKey', 'secret']);
/** Header names that carry credentials. */
const SECRET_HEADER_RE = /authorization|token|secret|password|api[-_]?key|cookie/i;

/** '1h30m' → 5400, '250ms' → 0.25, 90 → 90 (seconds). */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v;
  let s = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    const n = Number(m[1]);
    s += m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n * 86400;
  }
  return s;
}

/** 300 → "5m", 5400 → "1h30m", 0.5 → "500ms": the form Prometheus accepts. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  if (!Number.isInteger(seconds)) return `${Math.round(seconds * 1000)}ms`;
  let s = seconds;
  let out = '';
  for (const [unit, n] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (s >= n) {
      out += `${Math.floor(s / n)}${unit}`;
      s %= n;
    }
  }
  return out;
}

const duration = z
  .union([z.number().nonnegative(), z.string().regex(DURATION_RE, 'must be a duration like 30s, 5m, 1h30m')])
  .transform(parseDuration);
const labelMap = z.record(z.string().regex(LABEL_RE, 'label names match [A-Za-z_][A-Za-z0-9_]*'), z.string());

const ruleSchema = z
  .strictObject({
    name: z.string().regex(LABEL_RE, 'alert names match [A-Za-z_][A-Za-z0-9_]*'),
    enabled: z.boolean().default(true),
    expr: z.string().optional(),
    metric: z.enum(METRICS).optional(),
    op: z.enum(OPS).optional(),
    threshold: z.number().optional(),
    clearThreshold: z.number().optional(),
    window: duration.optional(),
    windows: z
      .array(duration.refine((s) => s > 0, 'must be above 0'))
      .min(1)
      .max(4)
      .optional(),
    for: duration.default(0),
    keepFiringFor: duration.default(0),
    severity: z.enum(['critical', 'warning', 'info']).default('warning'),
    labels: labelMap.default({}),
    annotations: z.record(z.string(), z.string()).default({}),
    services: z.array(z.string().min(1)).min(1).optional(),
  })
  .superRefine((r, ctx) => {
    for (const k of ['alertname', 'severity', 'service', 'instance']) {
      if (k in r.labels)
        ctx.addIssue({
          code: 'custom',
          path: ['labels', k],
          message: `label "${k}" is set by Headroom; use another name`,
        });
    }
    for (const [k, t] of Object.entries(r.annotations)) {
      for (const p of templateProblems(t)) ctx.addIssue({ code: 'custom', path: ['annotations', k], message: p });
    }
  });

const EXPR_RE = /^\s*([a-zA-Z.]+)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)(%?)\s*$/;

const timeout = duration.refine((s) => s > 0 && s <= 300, 'must be in (0s, 5m]');
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
  .optional();
const filePath = z.string().min(1).optional();
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const emailSchema = z.strictObject({
  to: z.union([z.string().min(3), z.array(z.string().min(3)).min(1)]),
  from: z.string().min(3),
  /** host:port of the SMTP server. */
  smarthost: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port, e.g. smtp.example.com:587'),
  username: z.string().optional(),
  passwordEnv: envName,
  passwordFile: filePath,
  /** TLS from the first byte (port 465). Otherwise STARTTLS when the server offers it. */
  secure: z.boolean().default(false),
  requireTls: z.boolean().default(false),
  /** Accept any TLS certificate (test servers only). */
  insecureSkipVerify: z.boolean().default(false),
  subjectPrefix: z.string().default('[headroom]'),
  timeout: timeout.default(10),
});
const webhookSchema = z.strictObject({
  url: httpUrl,
  /** Sent as `Authorization: Bearer <token>`. */
  tokenEnv: envName,
  tokenFile: filePath,
  headers: z.record(z.string(), z.string()).default({}),
  timeout: timeout.default(10),
});
const slackSchema = z.strictObject({
  url: httpUrl.optional(),
  /** Slack incoming-webhook URLs carry their secret in the path: prefer urlEnv/urlFile. */
  urlEnv: envName,
  urlFile: filePath,
  channel: z.string().optional(),
  username: z.string().default('headroom'),
  timeout: timeout.default(10),
});
const alertmanagerSchema = z.strictObject({
  /** Base URL, e.g. http://alertmanager:9093 (POST {url}/api/v2/alerts). */
  url: httpUrl,
  tokenEnv: envName,
  tokenFile: filePath,
  /** Link back to Headroom put in each alert's generatorURL. */
  generatorURL: httpUrl.optional(),
  /** Firing alerts are re-sent this often (Alertmanager expires them after endsAt = 4× this). */
  resendInterval: duration.refine((s) => s > 0, 'must be above 0').default(60),
  timeout: timeout.default(10),
});

const receiverSchema = z
  .strictObject({
    name: z.string().min(1),
    sendResolved: z.boolean().default(true),
    email: emailSchema.optional(),
    webhook: webhookSchema.optional(),
    slack: slackSchema.optional(),
    alertmanager: alertmanagerSchema.optional(),
  })
  .superRefine((r, ctx) => {
    const kinds = (['email', 'webhook', 'slack', 'alertmanager'] as const).filter((k) => r[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a receiver has exactly one of email, webhook, slack, alertmanager',
      });
    if (r.slack && [r.slack.url, r.slack.urlEnv, r.slack.urlFile].filter((x) => x !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['slack'], message: 'give exactly one of url, urlEnv, urlFile' });
    }
    for (const [k, v] of [
      ['email', r.email],
      ['webhook', r.webhook],
      ['alertmanager', r.alertmanager],
    ] as const) {
      const o = v as Record<string, unknown> | undefined;
      if (o && Object.keys(o).filter((x) => /(Env|File)$/.test(x) && o[x] !== undefined).length > 1) {
        ctx.addIssue({ code: 'custom', path: [k], message: 'give the secret once: either ...Env or ...File' });
      }
    }
  });

interface RawRoute {
  receiver?: string | undefined;
  matchers?: string[] | undefined;
  groupBy?: string[] | undefined;
  groupWait?: number | undefined;
  groupInterval?: number | undefined;
  repeatInterval?: number | undefined;
  continue: boolean;
  routes: RawRoute[];
}
const MATCHER_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$/;
const routeSchema: z.ZodType<RawRoute, unknown> = z.lazy(() =>
  z.strictObject({
    receiver: z.string().optional(),
    matchers: z
      .array(z.string().regex(MATCHER_RE, 'must be a matcher like severity="critical" or service=~"api|web"'))
      .optional(),
    groupBy: z.array(z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*|\.\.\.)$/, 'label names or "..."')).optional(),
    groupWait: duration.optional(),
    groupInterval: duration.refine((s) => s > 0, 'must be above 0').optional(),
    repeatInterval: duration.refine((s) => s > 0, 'must be above 0').optional(),
    continue: z.boolean().default(false),
    routes: z.array(routeSchema).default([]),
  }),
);

const deliverySchema = z.strictObject({
  /** Notifications waiting to be sent or retried; when full the oldest is dropped, counted, logged. */
  queueSize: z.number().int().min(1).max(100_000).default(1000),
  retryInitial: duration.refine((s) => s > 0 && s <= 3600, 'must be in (0s, 1h]').default(1),
  retryMax: duration.refine((s) => s > 0 && s <= 86400, 'must be in (0s, 1d]').default(300),
  /** Give up on one notification after this long (then it is reported as failed). */
  maxAge: duration.refine((s) => s > 0, 'must be above 0').default(86400),
});

export const alertsConfigSchema = z.strictObject({
  defaults: z.boolean().default(true),
  rules: z.array(ruleSchema).default([]),
  receivers: z.array(receiverSchema).default([]),
  route: routeSchema.optional(),
  delivery: deliverySchema.default({ queueSize: 1000, retryInitial: 1, retryMax: 300, maxAge: 86400 }),
});

export type EmailConfig = z.infer<typeof emailSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type SlackConfig = z.infer<typeof slackSchema>;
export type AlertmanagerConfig = z.infer<typeof alertmanagerSchema>;
export type ReceiverConfig = z.infer<typeof receiverSchema>;
export type DeliveryConfig = z.infer<typeof deliverySchema>;

export interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}
/** A route with its inherited settings filled in (Alertmanager semantics). */
export interface Route {
  receiver: string;
  matchers: Matcher[];
  /** Label names; ['...'] groups by all labels (one alert per group). */
  groupBy: string[];
  groupWaitSeconds: number;
  groupIntervalSeconds: number;
  repeatIntervalSeconds: number;
  continue: boolean;
  routes: Route[];
}

export interface AlertConfig {
  rules: AlertRule[];
  receivers: ReceiverConfig[];
  /** Absent when there are no receivers: alerts are only shown (status API, logs). */
  route?: Route;
  delivery: DeliveryConfig;
}

export function parseMatcher(s: string): Matcher {
  const m = MATCHER_RE.exec(s);
  if (!m) throw new Error(`bad matcher ${s}`);
  return { name: m[1] ?? '', op: (m[2] ?? '=') as Matcher['op'], value: m[3] ?? '' };
}

/** Where an `alerts:` object came from, for error messages. */
export interface AlertConfigSource {
  /** The file it was read from. */
  file?: string | undefined;
  /** Its key path in that file: 'alerts' (default), 'spec.alerts', or segments ['spec', 'alerts']. */
  path?: string | ReadonlyArray<string | number> | undefined;
}

/** 'spec.services[2].alerts' → ['spec', 'services', 2, 'alerts']. */
function pathSegments(p: string | ReadonlyArray<string | number>): Array<string | number> {
  if (typeof p !== 'string') return [...p];
  const out: Array<string | number> = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? ''));
  return out;
}

/**
 * Validates `alerts:` (raw, as parsed from YAML/JSON). `raw` undefined or null = the built-in rules, no
 * receivers. Either parseAlertConfig(obj, { file, path: 'alerts' }) or the older
 * parseAlertConfig(obj, file, ['alerts']). Throws HeadroomError listing every problem.
 */
export function parseAlertConfig(
  raw: unknown,
  source?: string | AlertConfigSource,
  rootPath: ReadonlyArray<string | number> = ['alerts'],
): AlertConfig {
  const file = typeof source === 'object' ? source.file : source;
  const root = pathSegments(typeof source === 'object' && source.path !== undefined ? source.path : rootPath);
  const problems: ProblemDetail[] = [];
  const res = alertsConfigSchema.safeParse(raw ?? {});
  if (!res.success) {
    for (const issue of res.error.issues) problems.push(issueProblem(issue, raw, file, root));
    throw new HeadroomError(problems);
  }
  const cfg = res.data;
  const at = (...p: Array<string | number>): string => keyPath([...root, ...p]);

  // Rules: expr shorthand, metric-specific fields, unique names, merged over the defaults.
  const rules = new Map<string, AlertRule>();
  if (cfg.defaults) for (const r of defaultRules()) rules.set(r.name, r);
  const seen = new Set<string>();
  cfg.rules.forEach((r, i) => {
    const bad = (path: string, message: string, value?: unknown, allowed?: string): void => {
      problems.push({
        code: 'HR_ALERT_RULE_INVALID',
        file,
        path: at('rules', i, ...(path ? [path] : [])),
        message,
        value,
        allowed,
      });
    };
    if (seen.has(r.name)) bad('name', `two rules are named ${r.name}`, r.name, 'unique names');
    seen.add(r.name);
    let metric = r.metric;
    let op = r.op;
    let threshold = r.threshold;
    if (r.expr !== undefined) {
      const m = EXPR_RE.exec(r.expr);
      if (!m || !(METRICS as readonly string[]).includes(m[1] ?? '')) {
        bad(
          'expr',
          'must be "<metric> <op> <number>[%]"',
          r.expr,
          `metric one of ${METRICS.join(', ')}; op one of ${OPS.join(' ')}`,
        );
        return;
      }
      if (r.metric !== undefined || r.op !== undefined || r.threshold !== undefined)
        bad('expr', 'give either expr or metric/op/threshold, not both', r.expr);
      metric = m[1] as MetricName;
      op = m[2] as Comparison;
      threshold = Number(m[3]) / (m[4] ? 100 : 1);
    }
    const base = rules.get(r.name);
    if (!r.enabled) {
      if (!base) bad('enabled', `no built-in rule is named ${r.name}, so there is nothing to disable`, r.name);
      rules.delete(r.name);
      return;
    }
    if (metric === undefined || op === undefined || threshold === undefined) {
      bad(
        '',
        'a rule needs expr, or metric, op and threshold',
        undefined,
        'e.g. expr: "instance.cpuUtilization > 90%"',
      );
      return;
    }
    if (metric === 'service.burnRate' && r.windows === undefined)
      bad('windows', 'service.burnRate needs windows, e.g. [5m, 1h]', undefined);
    if (metric !== 'service.burnRate' && r.windows !== undefined)
      bad('windows', 'only service.burnRate takes windows', r.windows);
    if (metric !== 'instance.restarts' && r.window !== undefined)
      bad('window', 'only instance.restarts takes a window', r.window);
    if (r.clearThreshold !== undefined) {
      const ok =
        op === '>' || op === '>='
          ? r.clearThreshold <= threshold
          : op === '<' || op === '<='
            ? r.clearThreshold >= threshold
            : false;
      if (!ok)
        bad(
          'clearThreshold',
          'must be on the non-alerting side of threshold (hysteresis)',
          r.clearThreshold,
          op === '>' || op === '>='
            ? `<= ${threshold}`
            : op === '<' || op === '<='
              ? `>= ${threshold}`
              : 'only with >, >=, <, <=',
        );
    }
    rules.set(r.name, {
      name: r.name,
      metric,
      op,
      threshold,
      ...(r.clearThreshold === undefined ? {} : { clearThreshold: r.clearThreshold }),
      ...(metric === 'instance.restarts' ? { windowSeconds: r.window ?? 600 } : {}),
      ...(r.windows ? { windowsSeconds: [...r.windows].sort((a, b) => a - b) } : {}),
      forSeconds: r.for,
      keepFiringForSeconds: r.keepFiringFor,
      severity: r.severity,
      labels: r.labels,
      annotations: Object.keys(r.annotations).length || !base ? r.annotations : base.annotations,
      ...(r.services ? { services: r.services } : {}),
    });
  });

  // Receivers and routes.
  const names = new Set<string>();
  cfg.receivers.forEach((r, i) => {
    if (names.has(r.name))
      problems.push({
        code: 'HR_ALERT_ROUTE_INVALID',
        file,
        path: at('receivers', i, 'name'),
        message: 'receiver names must be unique',
        value: r.name,
      });
    names.add(r.name);
    // Credentials must not hide in a header value or a URL's user:password either (never echoed).
    for (const h of Object.keys(r.webhook?.headers ?? {})) {
      if (SECRET_HEADER_RE.test(h))
        problems.push({
          code: 'HR_ALERT_SECRET',
          file,
          path: at('receivers', i, 'webhook', 'headers', h),
          message: 'a credential header is never read from the YAML; use tokenEnv or tokenFile (sent as Bearer)',
        });
    }
    for (const [kind, url] of [
      ['webhook', r.webhook?.url],
      ['alertmanager', r.alertmanager?.url],
      ['alertmanager', r.alertmanager?.generatorURL],
    ] as const) {
      if (url !== undefined && URL.canParse(url) && new URL(url).password !== '')
        problems.push({
          code: 'HR_ALERT_SECRET',
          file,
          path: at('receivers', i, kind, url === r.alertmanager?.generatorURL ? 'generatorURL' : 'url'),
          message: 'the URL carries a password; use tokenEnv or tokenFile',
        });
    }
  });
  let route: Route | undefined;
  if (cfg.route || cfg.receivers.length) {
    const top = cfg.route ?? { continue: false, routes: [] };
    const only = cfg.receivers.length === 1 ? cfg.receivers[0]?.name : undefined;
    const parent: Route = {
      receiver: only ?? '',
      matchers: [],
      groupBy: ['alertname', 'service'],
      groupWaitSeconds: 30,
      groupIntervalSeconds: 300,
      repeatIntervalSeconds: 4 * 3600,
      continue: false,
      routes: [],
    };
    route = resolveRoute(
      top,
      parent,
      ['route'],
      (path, message, value) =>
        problems.push({
          code: 'HR_ALERT_ROUTE_INVALID',
          file,
          path: at(...path),
          message,
          value,
          allowed: names.size ? `one of ${[...names].join(', ')}` : 'define receivers first',
        }),
      names,
    );
  }
  if (problems.length) throw new HeadroomError(problems);
  return deepFreeze({
    rules: [...rules.values()],
    receivers: cfg.receivers,
    ...(route ? { route } : {}),
    delivery: cfg.delivery,
  });
}

function resolveRoute(
  r: RawRoute,
  parent: Route,
  path: Array<string | number>,
  bad: (p: Array<string | number>, m: string, v?: unknown) => void,
  names: Set<string>,
): Route {
  const receiver = r.receiver ?? parent.receiver;
  if (!names.has(receiver))
    bad([...path, 'receiver'], receiver ? `no receiver is named ${receiver}` : 'route needs a receiver', r.receiver);
  const out: Route = {
    receiver,
    matchers: (r.matchers ?? []).map(parseMatcher),
    groupBy: r.groupBy ?? parent.groupBy,
    groupWaitSeconds: r.groupWait ?? parent.groupWaitSeconds,
    groupIntervalSeconds: r.groupInterval ?? parent.groupIntervalSeconds,
    repeatIntervalSeconds: r.repeatInterval ?? parent.repeatIntervalSeconds,
    continue: r.continue,
    routes: [],
  };
  for (const m of out.matchers) {
    if (m.op === '=~' || m.op === '!~') {
      try {
        new RegExp(`^(?:${m.value})$`);
      } catch {
        bad([...path, 'matchers'], 'the regular expression does not compile', m.value);
      }
    }
  }
  out.routes = r.routes.map((c, i) => resolveRoute(c, out, [...path, 'routes', i], bad, names));
  return out;
}

function issueProblem(
  issue: z.core.$ZodIssue,
  raw: unknown,
  file: string | undefined,
  root: Array<string | number>,
): ProblemDetail {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const section =
    path[0] === 'rules'
      ? 'HR_ALERT_RULE_INVALID'
      : path[0] === 'receivers' || path[0] === 'route'
        ? 'HR_ALERT_ROUTE_INVALID'
        : 'HR_ALERT_RULE_INVALID';
  if (issue.code === 'unrecognized_keys') {
    const secret = issue.keys.find((k) => INLINE_SECRET_KEYS.has(k));
    if (secret) {
      // Never echo the value: it is the secret.
      return {
        code: 'HR_ALERT_SECRET',
        file,
        path: keyPath([...root, ...path, secret]),
        message: `secrets are never read from the YAML itself; use ${secret === 'password' ? 'passwordEnv or passwordFile' : secret === 'token' ? 'tokenEnv or tokenFile' : 'an ...Env or ...File key'}`,
      };
    }
    return {
      code: section as ErrorCode,
      file,
      path: keyPath([...root, ...path]),
      message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`,
      value: issue.keys,
    };
  }
  // Only scalars are echoed as the value written.
  const at = valueAt(raw, path);
  const value = at !== null && typeof at === 'object' ? undefined : at;
  const allowed = issue.code === 'invalid_value' ? `one of ${issue.values.map(String).join(', ')}` : undefined;
  return {
    code: section as ErrorCode,
    file,
    path: keyPath([...root, ...path]),
    message: issue.message,
    // Not echoed: secret references, Slack URLs (the URL is the credential) and header values.
    ...(value === undefined ||
    /(Env|File)$/.test(String(path.at(-1))) ||
    path.includes('slack') ||
    path.includes('headers')
      ? {}
      : { value }),
    ...(allowed ? { allowed } : {}),
  };
}

/** Reads a YAML/JSON file and validates its top-level `alerts:` (other keys are the spec's). */
export function loadAlertConfig(file: string): AlertConfig {
  // The spec's bounded read and parser: /dev/zero or a FIFO gets a coded error, parse errors a line.
  const data = parseInputText(readInputFile(file, { what: 'the alert config', maxBytes: SPEC_MAX_BYTES }), file);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new HeadroomError({
      code: 'HR_ALERT_RULE_INVALID',
      file,
      message: 'the file must be a mapping with a top-level alerts: key',
      allowed: 'alerts: { rules, receivers, route }',
    });
  }
  if (!('alerts' in data)) {
    throw new HeadroomError({
      code: 'HR_ALERT_RULE_INVALID',
      file,
      path: 'alerts',
      message: 'the file has no top-level alerts: key',
      allowed: 'alerts: { rules, receivers, route }',
    });
  }
  return parseAlertConfig((data as { alerts: unknown }).alerts, file);
}
