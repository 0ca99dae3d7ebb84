// The `alerts:` section of a Headroom YAML file (a spec file or a file of its own):
//
//   alerts:
//     defaults: true            # built-in rules (src/alerting/defaults.ts); same name replaces one
//     rules: [...]              # metric/op/threshold or expr: "instance.cpuUtilization > 90%"
//     receivers: [...]          # email | webhook | slack | alertmanager, secrets from env or file
//     route: {...}              # Alertmanager-style: receiver, groupBy, groupWait, routes...
//     delivery: {...}           # retry queue size, backoff, send timeout
//
// The schema is in config-schema.ts. Validated through the one input path (src/input/validate.ts):
// every problem names the file, line:column, key path, value and what is allowed, all together.
import type { z } from 'zod';
import { HeadroomError, keyPath, type ProblemDetail } from '../core/errors.ts';
import { readInputFile, SPEC_MAX_BYTES } from '../input/read.ts';
import { checkSchema, deepFreeze, pathSegments, throwProblems, type IssueMapping } from '../input/validate.ts';
import { readSource } from '../input/yaml.ts';
import {
  alertsConfigSchema,
  EXPR_RE,
  INLINE_SECRET_KEYS,
  METRICS,
  OPS,
  parseMatcher,
  SECRET_HEADER_RE,
  ruleSchema,
  type AlertConfig,
  type ReceiverConfig,
  type RawRoute,
  type Route,
} from './config-schema.ts';
import { defaultRules } from './defaults.ts';
import type { AlertRule, Comparison, MetricName } from './types.ts';

export {
  DURATION_RE,
  formatDuration,
  METRICS,
  parseDuration,
  parseMatcher,
  type AlertConfig,
  type AlertmanagerConfig,
  type DeliveryConfig,
  type EmailConfig,
  type Matcher,
  type ReceiverConfig,
  type Route,
  type SlackConfig,
  type WebhookConfig,
} from './config-schema.ts';

/** Where an `alerts:` object came from, for error messages. */
export interface AlertConfigSource {
  /** The file it was read from. */
  file?: string | undefined;
  /** Its key path in that file: 'alerts' (default), 'spec.alerts', or segments ['spec', 'alerts']. */
  path?: string | ReadonlyArray<string | number> | undefined;
}

/** Where a clearThreshold may sit for each comparison (strictly apart for >= and <=). */
const CLEAR_SIDE: Partial<Record<Comparison, { text: string; holds: (c: number, t: number) => boolean }>> = {
  '>': { text: '<=', holds: (c, t) => c <= t },
  '>=': { text: '<', holds: (c, t) => c < t },
  '<': { text: '>=', holds: (c, t) => c >= t },
  '<=': { text: '>', holds: (c, t) => c > t },
};

/**
 * Why `metric op threshold` can never hold, or undefined. `service.errorRate > 5` (meant 5 %) never
 * fires; neither does `service.fits == 2`. Only the ranges every value keeps: a share 0..1 (error
 * rate; memory of its limit, past which the container is killed), a flag 0 or 1, counts ≥ 0. CPU
 * of its request can pass 1 (a limit above the request), so it is left open.
 */
export function neverTrue(metric: MetricName, op: Comparison, t: number): string | undefined {
  const share = metric === 'service.errorRate' || metric.endsWith('.memoryUtilization');
  const flag = metric === 'service.fits' || metric === 'service.atMaxWhileGrowing';
  const nonNegative = [
    'service.desired',
    'service.current',
    'service.ready',
    'service.unready',
    'service.needed',
    'instance.restarts',
    'service.demandRps',
    'service.latencyMs',
  ].includes(metric);
  if (!share && !flag && !nonNegative) return undefined;
  const hi = share || flag ? 1 : Infinity;
  const range = flag ? 'it is 0 or 1' : share ? 'it is between 0 and 1 (5 % is 5% or 0.05)' : 'it is never below 0';
  const no =
    (op === '>' && t >= hi) ||
    (op === '>=' && t > hi) ||
    (op === '<' && t <= 0) ||
    (op === '<=' && t < 0) ||
    (op === '==' && (t < 0 || t > hi || (flag && t !== 0 && t !== 1)));
  return no ? `${metric} ${op} ${t}: ${range}` : undefined;
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
  const r = checkAlertConfig(raw, source, rootPath);
  throwProblems(r.problems);
  return r.config as AlertConfig;
}

/** As parseAlertConfig, with the problems returned rather than thrown (`config` when there are none). */
export function checkAlertConfig(
  raw: unknown,
  source?: string | AlertConfigSource,
  rootPath: ReadonlyArray<string | number> = ['alerts'],
): { config?: AlertConfig; problems: ProblemDetail[] } {
  const file = typeof source === 'object' ? source.file : source;
  const root = pathSegments(typeof source === 'object' && source.path !== undefined ? source.path : rootPath);
  const problems: ProblemDetail[] = [];
  const cfg = checkSchema(alertsConfigSchema, raw ?? {}, { file, path: keyPath(root) }, problems, ALERT_ISSUES);
  const at = (...p: Array<string | number>): string => keyPath([...root, ...p]);

  // Rules: expr shorthand, metric-specific fields, unique names, merged over the defaults.
  const rules = new Map<string, AlertRule>();
  const defaultsOn = cfg ? cfg.defaults : (raw as { defaults?: unknown } | null)?.defaults !== false;
  if (defaultsOn) for (const r of defaultRules()) rules.set(r.name, r);
  const seen = new Set<string>();
  const checkRule = (r: z.output<typeof ruleSchema>, i: number): void => {
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
    const never = neverTrue(metric, op, threshold);
    if (never) bad(r.expr !== undefined ? 'expr' : 'threshold', `can never be true: ${never}`, r.expr ?? threshold);
    if (metric === 'service.burnRate' && r.windows === undefined)
      bad('windows', 'service.burnRate needs windows, e.g. [5m, 1h]', undefined);
    if (metric !== 'service.burnRate' && r.windows !== undefined)
      bad('windows', 'only service.burnRate takes windows', r.windows);
    if (metric !== 'instance.restarts' && r.window !== undefined)
      bad('window', 'only instance.restarts takes a window', r.window);
    if (r.clearThreshold !== undefined) {
      // Staying active compares strictly (engine.ts stillTrue): with >= 1 and clear 1, a value of 1
      // fires and clears on alternate ticks. So >= and <= need a clear level strictly apart.
      const c = r.clearThreshold;
      const side = CLEAR_SIDE[op];
      const ok = side?.holds(c, threshold) ?? false;
      const allowed = side ? `${side.text} ${threshold}` : 'only with >, >=, <, <=';
      if (!ok) bad('clearThreshold', 'must be on the non-alerting side of threshold (hysteresis)', c, allowed);
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
  };
  // Receivers and routes.
  function checkRouting(receivers: ReceiverConfig[], rawRoute: RawRoute | undefined): Route | undefined {
    const names = new Set<string>();
    receivers.forEach((r, i) => {
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
    if (!rawRoute && !receivers.length) return undefined;
    const top = rawRoute ?? { continue: false, routes: [] };
    const only = receivers.length === 1 ? receivers[0]?.name : undefined;
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
    return resolveRoute(
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

  if (!cfg) {
    // A schema error elsewhere (`for: 5x` in one rule) must not hide what the other rules get wrong,
    // nor an undefined route receiver: each rule, and receivers with route, that pass their own
    // schema are checked as they would be.
    const obj = (raw ?? {}) as { rules?: unknown; receivers?: unknown; route?: unknown };
    if (Array.isArray(obj.rules))
      obj.rules.forEach((x: unknown, i) => {
        const one = ruleSchema.safeParse(x);
        if (one.success) checkRule(one.data, i);
      });
    const receivers = alertsConfigSchema.shape.receivers.safeParse(obj.receivers);
    const top = alertsConfigSchema.shape.route.safeParse(obj.route);
    if (receivers.success && top.success) checkRouting(receivers.data, top.data);
    return { problems };
  }
  cfg.rules.forEach(checkRule);
  const route = checkRouting(cfg.receivers, cfg.route);

  if (problems.length) return { problems };
  return {
    config: deepFreeze({
      rules: [...rules.values()],
      receivers: cfg.receivers,
      ...(route ? { route } : {}),
      delivery: cfg.delivery,
    }),
    problems,
  };
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

/**
 * How alert issues read: the code by section, a secret key refused without its value, and only
 * scalars echoed — never a secret reference, a Slack URL (the URL is the credential) or a header.
 */
const ALERT_ISSUES: IssueMapping = {
  code: (path) => (path[0] === 'receivers' || path[0] === 'route' ? 'HR_ALERT_ROUTE_INVALID' : 'HR_ALERT_RULE_INVALID'),
  special: (issue, path) => {
    if (issue.code !== 'unrecognized_keys') return undefined;
    const secret = issue.keys.find((k) => INLINE_SECRET_KEYS.has(k));
    if (!secret) return undefined;
    return {
      code: 'HR_ALERT_SECRET',
      path: keyPath([...path, secret]),
      message: `secrets are never read from the YAML itself; use ${secret === 'password' ? 'passwordEnv or passwordFile' : secret === 'token' ? 'tokenEnv or tokenFile' : 'an ...Env or ...File key'}`,
    };
  },
  showValue: (path, value) =>
    (value === null || typeof value !== 'object') &&
    !/(Env|File)$/.test(String(path.at(-1))) &&
    !path.includes('slack') &&
    !path.includes('headers'),
};

/** Reads a YAML/JSON file and validates its top-level `alerts:` (other keys are the spec's). */
export function loadAlertConfig(file: string): AlertConfig {
  // The spec's bounded read and parser: /dev/zero or a FIFO gets a coded error, parse errors a line.
  const source = readSource(readInputFile(file, { what: 'the alert config', maxBytes: SPEC_MAX_BYTES }), file);
  const data = source.data;
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
  const r = checkAlertConfig((data as { alerts: unknown }).alerts, file);
  throwProblems(r.problems, source);
  return r.config as AlertConfig;
}
