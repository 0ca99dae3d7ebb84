// Built-in rules: what a person should be paged or ticketed for with no configuration at all.
// A user rule with the same name replaces a default; `enabled: false` turns one off.
import type { AlertRule } from './types.ts';

const m = 60;
const h = 3600;

function rule(r: Omit<AlertRule, 'labels' | 'keepFiringForSeconds'> & Partial<AlertRule>): AlertRule {
  return { labels: {}, keepFiringForSeconds: 0, ...r };
}

/** An instance above 90 % of a resource for 5 minutes (cleared below 85 %, so it does not flap). */
function instanceUsageRule(
  name: string,
  metric: AlertRule['metric'],
  resource: string,
  description: string,
): AlertRule {
  return rule({
    name,
    metric,
    op: '>',
    threshold: 0.9,
    clearThreshold: 0.85,
    forSeconds: 5 * m,
    severity: 'warning',
    annotations: {
      summary: `Instance {{ $labels.instance }} of {{ $labels.service }} uses {{ $value | humanizePercentage }} ${resource}`,
      description,
    },
  });
}

export function defaultRules(): AlertRule[] {
  return [
    instanceUsageRule(
      'HeadroomInstanceCpuHigh',
      'instance.cpuUtilization',
      'CPU',
      'CPU above {{ $threshold | humanizePercentage }} of its request for {{ $for }}.',
    ),
    instanceUsageRule(
      'HeadroomInstanceMemoryHigh',
      'instance.memoryUtilization',
      'memory',
      'Memory above {{ $threshold | humanizePercentage }} of its limit for {{ $for }}: OOM kill risk.',
    ),
    // The loop corrects its model (src/core/calibrate.ts), but a model 1.5× off for 2 minutes means
    // the spec or a release no longer describes the service: someone should look.
    rule({
      name: 'HeadroomModelDrift',
      metric: 'service.modelError',
      op: '>',
      threshold: 1.5,
      clearThreshold: 1.3,
      forSeconds: 2 * m,
      severity: 'warning',
      annotations: {
        summary: '{{ $labels.service }} latency is {{ $value | printf "%.2f" }}× off what the model predicts',
        description:
          'Measured latency at the SLO percentile has differed from the model by over 1.5× for {{ $for }}: a slower release, or a spec that no longer fits. Headroom sizes with a calibrated service time meanwhile.',
      },
    }),
    rule({
      name: 'HeadroomLatencyOverSlo',
      metric: 'service.latencyRatio',
      op: '>',
      threshold: 1,
      clearThreshold: 0.95,
      forSeconds: 2 * m,
      severity: 'warning',
      annotations: {
        summary: '{{ $labels.service }} latency is {{ $value | printf "%.2f" }}× its SLO',
        description: 'The SLO percentile has been over the latency objective for {{ $for }}.',
      },
    }),
    // Google SRE workbook, multiwindow multi-burn-rate: 14.4× over 1 h (and 5 m, so it stops soon
    // after recovery) spends 2 % of a 30-day budget in an hour: page. 6× over 6 h / 30 m: ticket.
    rule({
      name: 'HeadroomErrorBudgetBurnFast',
      metric: 'service.burnRate',
      op: '>',
      threshold: 14.4,
      windowsSeconds: [5 * m, 1 * h],
      forSeconds: 0,
      severity: 'critical',
      annotations: {
        summary: '{{ $labels.service }} burns its error budget {{ $value | printf "%.1f" }}× too fast',
        description: 'Burn rate over 14.4× in both the 5 m and 1 h windows: 2 % of a 30-day budget per hour.',
      },
    }),
    rule({
      name: 'HeadroomErrorBudgetBurnSlow',
      metric: 'service.burnRate',
      op: '>',
      threshold: 6,
      windowsSeconds: [30 * m, 6 * h],
      forSeconds: 0,
      severity: 'warning',
      annotations: {
        summary: '{{ $labels.service }} burns its error budget {{ $value | printf "%.1f" }}× too fast',
        description: 'Burn rate over 6× in both the 30 m and 6 h windows: 5 % of a 30-day budget in 6 hours.',
      },
    }),
    rule({
      name: 'HeadroomErrorRateHigh',
      metric: 'service.errorRate',
      op: '>',
      threshold: 0.05,
      clearThreshold: 0.04,
      forSeconds: 2 * m,
      severity: 'critical',
      annotations: {
        summary: '{{ $labels.service }} fails {{ $value | humanizePercentage }} of requests',
        description: 'Error rate above {{ $threshold | humanizePercentage }} for {{ $for }}.',
      },
    }),
    rule({
      name: 'HeadroomAtMaxReplicas',
      metric: 'service.atMaxWhileGrowing',
      op: '==',
      threshold: 1,
      forSeconds: 5 * m,
      severity: 'warning',
      annotations: {
        summary: '{{ $labels.service }} is at its max replicas while demand still grows',
        description:
          'The autoscaler cannot add instances (replicas.max) and demand has grown for {{ $for }}: raise max or expect SLO breaches.',
      },
    }),
    rule({
      name: 'HeadroomCannotFit',
      metric: 'service.fits',
      op: '==',
      threshold: 0,
      forSeconds: 1 * m,
      severity: 'critical',
      annotations: {
        summary: 'The cluster cannot fit the instances {{ $labels.service }} needs',
        description: 'The needed instance count does not fit the nodes (or host) for {{ $for }}.',
      },
    }),
    rule({
      name: 'HeadroomCrashLooping',
      metric: 'instance.restarts',
      op: '>=',
      threshold: 3,
      windowSeconds: 10 * m,
      forSeconds: 0,
      severity: 'warning',
      annotations: {
        summary:
          'Instance {{ $labels.instance }} of {{ $labels.service }} restarted {{ $value | printf "%.0f" }} times in {{ $window }}',
        description: 'Crash loop: {{ $threshold }} or more restarts in {{ $window }}.',
      },
    }),
  ];
}
