// A HeadroomPolicy object → what one reconcile needs: the ServiceModel (validated by the same code
// as `headroom plan`), the PromQL queries, the target and the mode.
import type { ServiceModel } from '../core/model.ts';
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';
import { serviceModelFromSpec } from '../spec/load.ts';
import { capacityProfileSchema } from '../spec/profile.ts';
import type { ScaleTargetRef } from '../ports/actuator.ts';

export interface PolicyCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface PolicyStatus {
  observedGeneration?: number;
  currentReplicas?: number;
  desiredReplicas?: number;
  recommendedReplicas?: number;
  binding?: string;
  demand?: string;
  lastScaleTime?: string;
  consecutiveMetricFailures?: number;
  lastDecision?: {
    time: string;
    desired: number;
    recommended: number;
    valid: boolean;
    binding: string;
    mode: string;
    demandRps: number | null;
    predictedUtilization: number | null;
    predictedLatencyMs: number | null;
    reasons: { code: string; message: string }[];
  };
  conditions?: PolicyCondition[];
  decideState?: unknown;
}

export interface DemandTemplate {
  name: 'requestRate';
  metric: string;
  selector?: Record<string, string>;
  window?: string;
  burstWindow?: string;
}

export interface PolicySpec {
  scaleTargetRef: { apiVersion: string; kind: string; name: string };
  mode?: 'active' | 'shadow';
  intervalSeconds?: number;
  service: Record<string, unknown>;
  capacity?: {
    profile?: { configMapKeyRef: { name: string; key: string } };
    learned?: { serviceTimeQuery: string; concurrency?: number };
  };
  demand: { query?: string; burstQuery?: string; template?: DemandTemplate };
  fallback?: { afterFailures: number; replicas: number };
}

export interface HeadroomPolicy {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: Date;
  };
  spec: PolicySpec;
  status?: PolicyStatus;
}

export interface Queries {
  demand: string;
  burst?: string;
  serviceTime?: string;
}

/** The PromQL for demand. requestRate: sum(rate(http_requests_total{job="web"}[1m])). */
export function demandQueries(spec: PolicySpec): Queries {
  const d = spec.demand;
  const learned = spec.capacity?.learned?.serviceTimeQuery;
  const extra = learned ? { serviceTime: learned } : {};
  if (d.query) return { demand: d.query, ...(d.burstQuery ? { burst: d.burstQuery } : {}), ...extra };
  const t = d.template;
  if (!t) throw invalid('spec.demand', 'give demand.query or demand.template', d);
  const sel = Object.entries(t.selector ?? {})
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',');
  const rate = (w: string): string => `sum(rate(${t.metric}{${sel}}[${w}]))`;
  return {
    demand: rate(t.window ?? '1m'),
    ...(t.burstWindow ? { burst: rate(t.burstWindow) } : d.burstQuery ? { burst: d.burstQuery } : {}),
    ...extra,
  };
}

export function targetOf(p: HeadroomPolicy): ScaleTargetRef {
  const r = p.spec.scaleTargetRef;
  return { apiVersion: r.apiVersion, kind: r.kind, name: r.name, namespace: p.metadata.namespace };
}

/** A DNS-label name for the model (CR names may be longer DNS subdomains with dots). */
export function modelName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return s === '' ? 'policy' : s;
}

/**
 * spec.service (+ capacity profile, + top-level fallback) → ServiceModel. Throws HeadroomError with
 * paths such as `spec.service.replicas.min`, the same checks and messages as a plan spec file.
 * `profileJson` is the ConfigMap value when spec.capacity.profile is set.
 */
export function buildModel(p: HeadroomPolicy, profileJson?: string): ServiceModel {
  const svc: Record<string, unknown> = { ...p.spec.service, name: modelName(p.metadata.name) };
  delete svc.demand;
  const instance = { ...((svc.instance as Record<string, unknown> | undefined) ?? {}) };
  if (p.spec.capacity?.profile) {
    const ref = p.spec.capacity.profile.configMapKeyRef;
    const where = `spec.capacity.profile.configMapKeyRef (ConfigMap ${ref.name}, key ${ref.key})`;
    if (profileJson === undefined) throw invalid(where, 'the ConfigMap or key does not exist', ref.name);
    let data: unknown;
    try {
      data = JSON.parse(profileJson);
    } catch {
      throw new HeadroomError({ code: 'HR_PROFILE_INVALID', path: where, message: 'not JSON' });
    }
    const prof = capacityProfileSchema.safeParse(data);
    if (!prof.success) {
      throw new HeadroomError({
        code: 'HR_PROFILE_INVALID',
        path: where,
        message: 'not a capacity profile written by `headroom loadtest`',
      });
    }
    // Explicit instance fields win, as in the plan spec.
    instance.serviceTimeMs ??= prof.data.serviceTimeMs;
    instance.concurrency ??= prof.data.concurrency;
  }
  if (p.spec.capacity?.learned?.concurrency !== undefined) instance.concurrency ??= p.spec.capacity.learned.concurrency;
  svc.instance = instance;
  if (p.spec.fallback) {
    const behavior = { ...((svc.behavior as Record<string, unknown> | undefined) ?? {}) };
    behavior.fallback ??= p.spec.fallback;
    svc.behavior = behavior;
  }
  return serviceModelFromSpec(svc, { path: 'spec.service' });
}

function invalid(path: string, message: string, value: unknown): HeadroomError {
  const p: ProblemDetail = { code: 'HR_SPEC_INVALID', path, message, value };
  return new HeadroomError(p);
}
