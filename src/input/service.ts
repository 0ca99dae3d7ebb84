// One service of a spec → its ServiceModel: the checks that span keys of one service (replicas,
// zones, the service-time distribution, a loadtest profile, quantities, pricing) after the schema
// (src/input/schema.ts) has passed. Problems are pushed, never thrown: the caller reports them all.
import { resolve } from 'node:path';
import { HeadroomError, keyPath, type ProblemDetail } from '../core/errors.ts';
import {
  FORECAST_HISTORY_SECONDS,
  defaultBehavior,
  type BehaviorModel,
  type DirectionBehavior,
  type RatePolicy,
  type ServiceModel,
  type ServiceTimeModel,
} from '../core/model.ts';
import { parseCpuMillis, parseMemoryBytes } from '../core/quantity.ts';
import { impliedCv, minimumMeanMs } from '../core/service-time.ts';
import { normalizePricing, type FilePricing } from './pricing.ts';
import { MIN_PROBE_SAMPLES, capacityProfileSchema, concurrencyMeasured, type CapacityProfile } from './profile.ts';
import { readInputFile, SPEC_MAX_BYTES } from './read.ts';
import type { ServiceSpec } from './schema.ts';
import { joinPath, valueAt } from './validate.ts';

export interface Where {
  /** File the object came from (for messages). */
  file?: string;
  /** Key path prefix of the object inside that file, e.g. `services[2]` or `spec.service`. */
  path?: string;
  /** Directory that relative paths (profiles) resolve against. */
  baseDir?: string;
  /** A capacity profile read elsewhere (the controller's ConfigMap), used as instance.profile would be. */
  profile?: CapacityProfile;
  /** The file's `pricing:` block, already checked; a service's own `pricing` replaces it. */
  pricing?: FilePricing;
}

export interface Normalized {
  model?: ServiceModel;
  problems: ProblemDetail[];
}

export function normalizeService(svc: ServiceSpec, where: Where): Normalized {
  const problems: ProblemDetail[] = [];
  const at = (key: string): string => joinPath(where.path, key);
  const problem = (p: Omit<ProblemDetail, 'file'>): void => {
    problems.push(where.file !== undefined ? { ...p, file: where.file } : p);
  };

  let profile: CapacityProfile | undefined = where.profile;
  if (svc.instance.profile !== undefined) {
    profile = readProfile(svc.instance.profile, where, problem);
  }
  const serviceTimeMs = svc.instance.serviceTimeMs ?? profile?.serviceTimeMs;
  const concurrency = svc.instance.concurrency ?? profile?.concurrency;
  // A named profile that could not be read has its own problem; "required" on top would send the
  // user to a key they replaced on purpose.
  const profileFailed = svc.instance.profile !== undefined && profile === undefined;
  if (serviceTimeMs === undefined && !profileFailed) {
    problem({
      code: 'HR_SPEC_INVALID',
      path: at('instance.serviceTimeMs'),
      message: 'required (or give instance.profile from `headroom loadtest`)',
      allowed: 'a number of ms > 0',
    });
  }

  const cpu = quantityField(svc.instance.cpu, 'cpu', at('instance.cpu'), problem);
  const memory = quantityField(svc.instance.memory, 'memory', at('instance.memory'), problem);
  const cpuLimit = quantityField(svc.instance.cpuLimit, 'cpu', at('instance.cpuLimit'), problem);
  const memoryLimit = quantityField(svc.instance.memoryLimit, 'memory', at('instance.memoryLimit'), problem);

  const min = svc.replicas?.min ?? 1;
  const max = svc.replicas?.max ?? 100;
  if (min > max) {
    problem({
      code: 'HR_SPEC_INVALID',
      path: at('replicas.min'),
      value: min,
      message: 'above replicas.max',
      allowed: `<= replicas.max (${max})`,
    });
  }
  const zones = svc.availability?.zones ?? 1;
  const zoneFailures = svc.availability?.zoneFailures ?? 0;
  if (zoneFailures >= zones && zoneFailures > 0) {
    problem({
      code: 'HR_AVAILABILITY_IMPOSSIBLE',
      path: at('availability.zoneFailures'),
      value: zoneFailures,
      message: `cannot survive losing ${zoneFailures} of ${zones} zone${zones > 1 ? 's' : ''}`,
      allowed: `0..${zones - 1} (below availability.zones)`,
    });
  }
  // An SLO that no count can meet is not a spec error: `plan` reports that service as infeasible
  // with its reason and plans the others (as it does when the cluster is too small).
  const serviceTime =
    serviceTimeMs !== undefined ? normalizeServiceTime(svc.instance, profile, serviceTimeMs, at, problem) : undefined;

  const behavior = normalizeBehavior(svc.behavior);
  const pricing = normalizePricing(svc, where, at, problem);
  if (problems.length > 0 || serviceTimeMs === undefined) return { problems };
  const model: ServiceModel = {
    name: svc.name,
    demandRps: svc.demand?.rps ?? 0,
    instance: {
      serviceTimeMs,
      concurrency: concurrency ?? 1,
      // Capacity from a loadtest profile: plan then warns from what it measured (its knee, its SLO).
      ...(profile && (svc.instance.serviceTimeMs === undefined || svc.instance.concurrency === undefined)
        ? {
            capacitySource: 'profile' as const,
            profile: {
              kneeRps: profile.kneeRps,
              // Profiles written before the field: no step broke the SLO.
              kneeIsLowerBound:
                profile.kneeIsLowerBound ??
                (profile.kneeRps > 0 && profile.steps.length > 0 && profile.steps.every((st) => st.sloMet)),
              partial: profile.partial ?? false,
              concurrencyMeasured: concurrencyMeasured(profile),
              slo: { latencyMs: profile.slo.latencyMs, percentile: profile.slo.percentile },
            },
          }
        : {}),
      ...(serviceTime ? { serviceTime } : {}),
      ...(cpu !== undefined ? { cpuMillis: cpu } : {}),
      ...(memory !== undefined ? { memoryBytes: memory } : {}),
      ...(cpuLimit !== undefined ? { cpuLimitMillis: cpuLimit } : {}),
      ...(memoryLimit !== undefined ? { memoryLimitBytes: memoryLimit } : {}),
    },
    loadBalancing: svc.loadBalancing ?? 'leastRequests',
    ...(svc.loadBalancing === undefined ? { loadBalancingAssumed: true as const } : {}),
    ...(svc.slo && svc.slo.scope !== 'endToEnd'
      ? { slo: { latencyMs: svc.slo.latencyMs, percentile: svc.slo.percentile } }
      : {}),
    ...(svc.slo?.scope === 'endToEnd'
      ? { endToEndSlo: { latencyMs: svc.slo.latencyMs, percentile: svc.slo.percentile } }
      : {}),
    ...(svc.calls
      ? {
          calls: svc.calls.map((c) => ({ service: c.service, perRequest: c.perRequest, mode: c.mode ?? 'sequential' })),
        }
      : {}),
    targetUtilization: svc.targetUtilization ?? (svc.slo ? 0.9 : 0.7),
    replicas: { min, max },
    availability: { zones, zoneFailures, instanceFailures: svc.availability?.instanceFailures ?? 0 },
    startupSeconds: svc.startupSeconds ?? 60,
    behavior,
    ...(pricing ? { pricing } : {}),
  };
  return { model, problems };
}

export function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * The service-time distribution: the spec's serviceTimeCv / serviceTimeQuantilesMs win over the
 * profile's probe. The probe's quantiles keep their shape and are scaled to the mean in use (the
 * profile's fitted serviceTimeMs, or the spec's), so capacity and latency describe one service.
 */
function normalizeServiceTime(
  instance: ServiceSpec['instance'],
  profile: CapacityProfile | undefined,
  meanMs: number,
  at: (key: string) => string,
  problem: (p: Omit<ProblemDetail, 'file'>) => void,
): ServiceTimeModel | undefined {
  const probe = profile?.serviceTime;
  let quantiles = instance.serviceTimeQuantilesMs;
  let source: ServiceTimeModel['source'] = 'spec';
  let cv = instance.serviceTimeCv;
  if (quantiles === undefined && cv === undefined && probe) {
    const k = meanMs / probe.meanMs;
    quantiles = {
      p50: probe.quantilesMs.p50 * k,
      p90: probe.quantilesMs.p90 * k,
      p99: probe.quantilesMs.p99 * k,
      p999: probe.quantilesMs.p999 * k,
    };
    cv = probe.cv;
    source = 'profile';
  }
  if (quantiles === undefined) return cv === undefined ? undefined : { cv, source };
  const key = source === 'profile' ? 'instance.profile' : 'instance.serviceTimeQuantilesMs';
  const order = ['p50', 'p90', 'p99', 'p999'] as const;
  let ok = true;
  for (let i = 1; i < order.length; i++) {
    const name = order[i] as (typeof order)[number];
    const prev = order[i - 1] as (typeof order)[number];
    if (!(quantiles[name] > quantiles[prev])) {
      ok = false;
      problem({
        code: 'HR_SERVICE_TIME',
        path: at(source === 'profile' ? key : `${key}.${name}`),
        value: quantiles[name],
        message: `the quantiles do not increase: ${name} is not above ${prev} (${quantiles[prev]} ms)`,
        allowed: `> ${quantiles[prev]} ms (p50 < p90 < p99 < p999)`,
      });
    }
  }
  if (!ok) return undefined;
  const least = minimumMeanMs(quantiles);
  if (least > meanMs * (1 + 1e-9)) {
    problem({
      code: 'HR_SERVICE_TIME',
      path: at(key),
      value: quantiles,
      message: `these quantiles need a mean service time of at least ${round(least)} ms, above serviceTimeMs ${meanMs} ms`,
      allowed: `quantiles whose 0.5·p50 + 0.1·(p90 − p50) + 0.01·(p99 − p90) + 0.001·(p999 − p99) ≤ ${meanMs} ms`,
    });
    return undefined;
  }
  if (quantiles.p999 < meanMs) {
    problem({
      code: 'HR_SERVICE_TIME',
      path: at(source === 'profile' ? key : `${key}.p999`),
      value: quantiles.p999,
      message: `p999 is below the mean service time (${meanMs} ms): the slowest 0.1 % would have to carry the rest of the mean`,
      allowed: `>= ${meanMs} ms`,
    });
    return undefined;
  }
  return { cv: cv ?? impliedCv(meanMs, quantiles), quantilesMs: { ...quantiles }, source };
}

function readProfile(
  ref: string,
  where: Where,
  problem: (p: Omit<ProblemDetail, 'file'>) => void,
): CapacityProfile | undefined {
  const path = joinPath(where.path, 'instance.profile');
  const file = resolve(where.baseDir ?? '.', ref);
  let text: string;
  try {
    text = readInputFile(file, { what: 'the capacity profile', maxBytes: SPEC_MAX_BYTES, path, shown: ref });
  } catch (err) {
    if (!(err instanceof HeadroomError)) throw err;
    for (const p of err.problems) problem(p);
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file (a profile: pointing at a secret would print it).
    problem({ code: 'HR_PROFILE_INVALID', path, value: ref, message: 'not JSON' });
    return undefined;
  }
  const parsed = capacityProfileSchema.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    if (first && first.path.join('.') === 'serviceTime.samples') {
      problem({
        code: 'HR_SERVICE_TIME',
        path,
        value: ref,
        message: `the profile's probe measured ${String(valueAt(data, ['serviceTime', 'samples']))} requests, too few for a stable p99`,
        allowed: `at least ${MIN_PROBE_SAMPLES} (rerun \`headroom loadtest\` with a larger --probe-requests)`,
      });
      return undefined;
    }
    problem({
      code: 'HR_PROFILE_INVALID',
      path,
      value: ref,
      message: `not a capacity profile written by \`headroom loadtest\`: ${first ? `${keyPath(first.path as Array<string | number>)}: ${first.message}` : 'invalid'}`,
    });
    return undefined;
  }
  return parsed.data;
}

export function quantityField(
  q: string | number | undefined,
  kind: 'cpu' | 'memory',
  path: string,
  problem: (p: Omit<ProblemDetail, 'file'>) => void,
): number | undefined {
  if (q === undefined) return undefined;
  const v = kind === 'cpu' ? parseCpuMillis(q) : parseMemoryBytes(q);
  if (v === undefined || !Number.isFinite(v)) {
    problem({
      code: 'HR_QUANTITY',
      path,
      value: q,
      message: `not a ${kind} quantity`,
      allowed:
        kind === 'cpu' ? 'cores (2, 0.5) or millicores (500m)' : 'bytes with an optional suffix (256Mi, 1Gi, 512M)',
    });
    return undefined;
  }
  if (v <= 0) {
    problem({ code: 'HR_QUANTITY', path, value: q, message: 'must be above zero', allowed: '> 0' });
    return undefined;
  }
  return v;
}

type DirectionSpec = NonNullable<NonNullable<ServiceSpec['behavior']>['scaleUp']>;

function normalizeBehavior(b: ServiceSpec['behavior']): BehaviorModel {
  const d = defaultBehavior();
  if (!b) return d;
  const direction = (spec: DirectionSpec | undefined, base: DirectionBehavior): DirectionBehavior => ({
    stabilizationSeconds: spec?.stabilizationWindowSeconds ?? base.stabilizationSeconds,
    select: spec?.selectPolicy ? (spec.selectPolicy.toLowerCase() as DirectionBehavior['select']) : base.select,
    policies: spec?.policies
      ? spec.policies.map((p): RatePolicy => ({
          type: p.type === 'Pods' ? 'pods' : 'percent',
          value: p.value,
          periodSeconds: p.periodSeconds,
        }))
      : base.policies,
  });
  return {
    tolerance: b.tolerance ?? d.tolerance,
    scaleUp: direction(b.scaleUp, d.scaleUp),
    scaleDown: direction(b.scaleDown, d.scaleDown),
    burst: {
      enabled: b.burst?.enabled ?? d.burst.enabled,
      windowSeconds: b.burst?.windowSeconds ?? d.burst.windowSeconds,
      threshold: b.burst?.threshold ?? d.burst.threshold,
      learn: b.burst?.learn ?? d.burst.learn,
    },
    forecast: {
      enabled: b.forecast?.enabled ?? d.forecast.enabled,
      quietPhase: b.forecast?.quietPhase ?? d.forecast.quietPhase,
      historySeconds: b.forecast?.historySeconds ?? d.forecast.historySeconds ?? FORECAST_HISTORY_SECONDS,
    },
    ...(b.fallback ? { fallback: { afterFailures: b.fallback.afterFailures, replicas: b.fallback.replicas } } : {}),
  };
}
