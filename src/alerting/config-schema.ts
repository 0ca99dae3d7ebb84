// The schema of the `alerts:` section (src/alerting/config.ts validates and resolves it): rules,
// receivers, routes, delivery; durations in Prometheus form (90s, 5m, 1h30m).
import { z } from 'zod';
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

export const OPS = ['>', '>=', '<', '<=', '==', '!='] as const satisfies readonly Comparison[];
/** Prometheus-style durations: 90s, 5m, 1h30m, 14d, 250ms. */
export const DURATION_RE = /^(\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const LABEL_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys that would put a secret in the YAML; they are refused (with no value echoed). */
export const INLINE_SECRET_KEYS = new Set(['password', 'token', 'bearerToken', 'authorization', 'apiKey', 'secret']);
/** Header names that carry credentials. */
export const SECRET_HEADER_RE = /auth|token|secret|password|api[-_]?key|cookie|credential|signature/i;

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

export const ruleSchema = z
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

export const EXPR_RE = /^\s*([a-zA-Z.]+)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)(%?)\s*$/;

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
  smarthost: z
    .string()
    .regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port, e.g. smtp.example.com:587')
    .refine((s) => {
      const port = Number(s.slice(s.lastIndexOf(':') + 1));
      return port >= 1 && port <= 65535;
    }, 'the port must be 1 to 65535'),
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

export interface RawRoute {
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
