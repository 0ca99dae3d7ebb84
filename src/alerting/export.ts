// Export rules as Prometheus alerting rules (groups/rules YAML, `promtool check rules` clean) and as
// a prometheus-operator PrometheusRule, over the metrics Headroom exports (metric-names.ts). The
// same thresholds, `for`, `keep_firing_for`, labels and annotation templates; hysteresis
// (clearThreshold) becomes the usual `or (… and on(…) ALERTS{…})` form: an alert already pending or
// firing stays while the value is past the clear threshold.
import { stringify } from 'yaml';
import { formatDuration } from './config.ts';
import * as M from './metric-names.ts';
import type { AlertRule, Comparison } from './types.ts';
import { durationWords } from './template.ts';

export interface PrometheusRuleFile {
  groups: Array<{ name: string; rules: PrometheusAlertingRule[] }>;
}
export interface PrometheusAlertingRule {
  alert: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function sel(metric: string, rule: AlertRule, extra = ''): string {
  const m: string[] = [];
  if (rule.services) m.push(`service=~${JSON.stringify(rule.services.map(escapeRegex).join('|'))}`);
  if (extra) m.push(extra);
  return m.length ? `${metric}{${m.join(', ')}}` : metric;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function num(n: number): string {
  return String(n);
}

/** The PromQL whose value the rule compares (one series per service, or per service+instance). */
function valueExpr(rule: AlertRule): string {
  const s = (m: string): string => sel(m, rule);
  const bySvc = (m: string): string => `max by (service) (${s(m)})`;
  switch (rule.metric) {
    case 'instance.cpuUtilization':
      return s(M.INSTANCE_CPU_UTILIZATION);
    case 'instance.memoryUtilization':
      return s(M.INSTANCE_MEMORY_UTILIZATION);
    case 'instance.restarts':
      return `increase(${s(M.INSTANCE_RESTARTS_TOTAL)}[${formatDuration(rule.windowSeconds ?? 600)}])`;
    case 'service.cpuUtilization':
      return `avg by (service) (${s(M.INSTANCE_CPU_UTILIZATION)})`;
    case 'service.memoryUtilization':
      return `avg by (service) (${s(M.INSTANCE_MEMORY_UTILIZATION)})`;
    case 'service.latencyMs':
      // Only the quantile the SLO is set at (the SLO gauge carries the same quantile label).
      return `1000 * (max by (service, quantile) (${s(M.SERVICE_LATENCY_SECONDS)}) and on (service, quantile) ${s(M.SERVICE_SLO_LATENCY_SECONDS)})`;
    case 'service.latencyRatio':
      return `max by (service, quantile) (${s(M.SERVICE_LATENCY_SECONDS)}) / on (service, quantile) max by (service, quantile) (${s(M.SERVICE_SLO_LATENCY_SECONDS)})`;
    case 'service.burnRate':
      return burn(rule, rule.windowsSeconds?.[0] ?? 300);
    case 'service.errorRate':
      return bySvc(M.SERVICE_ERROR_RATIO);
    case 'service.desired':
      return bySvc(M.SERVICE_REPLICAS_DESIRED);
    case 'service.current':
      return bySvc(M.SERVICE_REPLICAS_CURRENT);
    case 'service.ready':
      return bySvc(M.SERVICE_REPLICAS_READY);
    case 'service.unready':
      return `${bySvc(M.SERVICE_REPLICAS_CURRENT)} - ${bySvc(M.SERVICE_REPLICAS_READY)}`;
    case 'service.needed':
      return bySvc(M.SERVICE_REPLICAS_NEEDED);
    case 'service.fits':
      return bySvc(M.SERVICE_FITS);
    case 'service.demandRps':
      return bySvc(M.SERVICE_DEMAND_RPS);
    case 'service.demandTrend':
      return bySvc(M.SERVICE_DEMAND_TREND);
    case 'service.modelError':
      return bySvc(M.MODEL_ERROR_FACTOR);
    case 'service.atMaxWhileGrowing': {
      // 1 when (desired ≥ max or needed > max) and demand grows, else 0 (per service).
      const max = bySvc(M.SERVICE_REPLICAS_MAX);
      const atMax = `(${bySvc(M.SERVICE_REPLICAS_DESIRED)} >= ${max} or ${bySvc(M.SERVICE_REPLICAS_NEEDED)} > ${max})`;
      const grows = `${bySvc(M.SERVICE_DEMAND_TREND)} > 0`;
      return `((${atMax} and ${grows}) * 0 + 1 or ${max} * 0)`;
    }
  }
}

/** Burn rate over a window: bad/total request rate ÷ error budget (1 − objective). */
function burn(rule: AlertRule, w: number): string {
  const r = (m: string): string => `sum by (service) (rate(${sel(m, rule)}[${formatDuration(w)}]))`;
  return `(${r(M.SERVICE_SLO_BAD_REQUESTS_TOTAL)} / ${r(M.SERVICE_REQUESTS_TOTAL)}) / on (service) (1 - max by (service) (${sel(M.SERVICE_SLO_OBJECTIVE, rule)}))`;
}

function condition(rule: AlertRule, op: Comparison, threshold: number): string {
  if (rule.metric === 'service.burnRate') {
    const ws = rule.windowsSeconds ?? [300];
    return ws.map((w) => `${burn(rule, w)} ${op} ${num(threshold)}`).join(' and ');
  }
  return `${valueExpr(rule)} ${op} ${num(threshold)}`;
}

export function promqlFor(rule: AlertRule): string {
  const base = condition(rule, rule.op, rule.threshold);
  if (rule.clearThreshold === undefined) return base;
  const op: Comparison = rule.op === '>=' ? '>' : rule.op === '<=' ? '<' : rule.op;
  const scope = rule.metric.startsWith('instance.') ? 'service, instance' : 'service';
  const active = `ALERTS{alertname=${JSON.stringify(rule.name)}, alertstate=~"pending|firing"}`;
  return `(${base}) or (${condition(rule, op, rule.clearThreshold)} and on (${scope}) ${active})`;
}

/** `{{ $threshold }}`, `{{ $for }}` and `{{ $window }}` have no Prometheus equivalent: write them in. */
function exportTemplate(t: string, rule: AlertRule): string {
  const words: Array<[string, string]> = [
    ['for', durationWords(rule.forSeconds)],
    ['window', durationWords(rule.windowSeconds ?? 0)],
  ];
  let out = t.replace(/\$threshold\b/g, num(rule.threshold));
  // `{{ $for }}` alone becomes its words; inside a pipeline, a quoted string.
  for (const [name, text] of words) {
    out = out
      .replace(new RegExp(`\\{\\{-?\\s*\\$${name}\\s*-?\\}\\}`, 'g'), text)
      .replace(new RegExp(`\\$${name}\\b`, 'g'), JSON.stringify(text));
  }
  return out;
}

export function toPrometheusRules(rules: readonly AlertRule[], groupName = 'headroom'): PrometheusRuleFile {
  return {
    groups: [
      {
        name: groupName,
        rules: rules.map((r) => ({
          alert: r.name,
          expr: promqlFor(r),
          ...(r.forSeconds > 0 ? { for: formatDuration(r.forSeconds) } : {}),
          ...(r.keepFiringForSeconds > 0 ? { keep_firing_for: formatDuration(r.keepFiringForSeconds) } : {}),
          labels: { severity: r.severity, ...r.labels },
          annotations: Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, exportTemplate(v, r)])),
        })),
      },
    ],
  };
}

export interface PrometheusRuleResource {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PrometheusRule';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  spec: PrometheusRuleFile;
}

export function toPrometheusRuleResource(
  rules: readonly AlertRule[],
  opts: { name?: string; namespace?: string; group?: string; labels?: Record<string, string> } = {},
): PrometheusRuleResource {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: opts.name ?? 'headroom-alerts',
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      labels: { 'app.kubernetes.io/name': 'headroom', 'app.kubernetes.io/component': 'alerts', ...opts.labels },
    },
    spec: toPrometheusRules(rules, opts.group),
  };
}

export function exportYaml(doc: PrometheusRuleFile | PrometheusRuleResource): string {
  return stringify(doc, { lineWidth: 0 });
}
