// `headroom import hpa`, the pure part: HorizontalPodAutoscaler objects (autoscaling/v1, v2, v2beta2,
// v2beta1, as parsed from a file or read from the apiserver) → HeadroomPolicy objects, with what was
// mapped, what was not (named, never dropped) and what the user must still fill in. No I/O.
//
//   scaleTargetRef                       → spec.scaleTargetRef (apps/v1 inferred for apps kinds without one)
//   minReplicas (default 1), maxReplicas → spec.service.replicas.min / max
//   CPU Utilization target (default 80)  → spec.service.targetUtilization (÷ 100, at most 1)
//   behavior.scaleUp / scaleDown         → spec.service.behavior.scaleUp / scaleDown (same fields, same
//                                          defaults); scaleDown.tolerance → behavior.tolerance
//   anything else in spec.metrics        → HR_HPA_UNMAPPED, named with its target
// and always mode: shadow, a suggested demand query, and a capacity profile ConfigMap to fill in.
import { GROUP, KIND, VERSION } from '../controller/crd.ts';
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';
import { serviceModelFromSpec } from '../input/load.ts';

/** One HPA to import, and where it came from (for messages). */
export interface HpaInput {
  object: unknown;
  /** The file, or e.g. `apiserver` for live objects. */
  file?: string;
  /** Where in the file: `line 14`, `line 20 (items[2])`. */
  at?: string;
}

export interface ImportOptions {
  /** Namespace for HPAs that name none (a file without metadata.namespace; `-n`). */
  namespace?: string;
}

/** The HeadroomPolicy as written (a plain object, ready for YAML). */
export interface PolicyManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations: Record<string, string> };
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    mode: 'shadow';
    service: {
      instance: Record<string, never>;
      targetUtilization: number;
      replicas: { min: number; max: number };
      behavior?: Record<string, unknown>;
    };
    capacity: { profile: { configMapKeyRef: { name: string; key: string } } };
    demand: { query: string };
  };
}

export interface ImportedPolicy {
  /** The HPA: `autoscaling/v2`, `shop/checkout` (or `checkout` without a namespace). */
  from: { apiVersion: string; id: string };
  policy: PolicyManifest;
  /** How each HPA field was mapped, one line each (for comments and stderr). */
  mapped: string[];
  /** HPA metrics (and fields) Headroom cannot map: code HR_HPA_UNMAPPED, one per metric. */
  unmapped: ProblemDetail[];
  /** The capacity profile ConfigMap the policy refers to, to be created by the user. */
  profileConfigMap: { name: string; key: string };
  /** targetUtilization came from the HPA's own CPU target (false: the HPA's default, 80 %). */
  cpuFromHpa: boolean;
}

/** The HPA's own default CPU target, when it has no metrics (autoscaling/v1 and v2 alike). */
export const HPA_DEFAULT_CPU_UTILIZATION = 80;
/** The key of the capacity profile in its ConfigMap. */
export const PROFILE_KEY = 'profile.json';
/** The request counter the suggested demand query reads (the example service's, Prometheus naming). */
export const DEMAND_METRIC = 'http_requests_total';

const VERSIONS = ['autoscaling/v1', 'autoscaling/v2', 'autoscaling/v2beta2', 'autoscaling/v2beta1'] as const;
type HpaVersion = (typeof VERSIONS)[number];
const APPS_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Items of `List` / `HorizontalPodAutoscalerList` documents in place of the list; everything else as
 * is. `itemAt(i)` says where item i is (its line), for messages.
 */
export function expandLists(input: HpaInput, itemAt?: (i: number) => string): HpaInput[] {
  const o = input.object;
  if (isObj(o) && typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
    return o.items.map((item, i) => ({
      object: item,
      ...(input.file !== undefined ? { file: input.file } : {}),
      at: itemAt?.(i) ?? `${input.at ? `${input.at}: ` : ''}items[${i}]`,
    }));
  }
  return [input];
}

/**
 * Every HPA → a policy. All problems of all inputs are reported together (HeadroomError), and
 * nothing is returned when there is one: no half-imported set.
 */
export function importHpas(inputs: readonly HpaInput[], opts: ImportOptions = {}): ImportedPolicy[] {
  const problems: ProblemDetail[] = [];
  const out: ImportedPolicy[] = [];
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const r = importOne(input, opts);
    problems.push(...r.problems);
    if (!r.policy) continue;
    const key = r.policy.from.id;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({
        ...where(input, 'metadata.name'),
        code: 'HR_DUPLICATE_NAME',
        value: key,
        message: `a second HorizontalPodAutoscaler ${key} (the first is at ${first}): two policies of one name would overwrite each other`,
        allowed: 'one HorizontalPodAutoscaler per namespace and name',
      });
      continue;
    }
    seen.set(key, [input.file, input.at].filter(Boolean).join(': ') || key);
    out.push(r.policy);
  }
  if (problems.length > 0) throw new HeadroomError(problems);
  return out;
}

function where(input: HpaInput, path?: string): Pick<ProblemDetail, 'file' | 'path'> {
  const p = [input.at, path].filter((s) => s !== undefined && s !== '').join(': ');
  return { ...(input.file !== undefined ? { file: input.file } : {}), ...(p !== '' ? { path: p } : {}) };
}

interface One {
  policy?: ImportedPolicy;
  problems: ProblemDetail[];
}

function importOne(input: HpaInput, opts: ImportOptions): One {
  const problems: ProblemDetail[] = [];
  const o = input.object;
  const bad = (path: string, message: string, value?: unknown, allowed?: string): void => {
    problems.push({
      ...where(input, path),
      code: 'HR_HPA_INVALID',
      message,
      ...(value !== undefined ? { value } : {}),
      ...(allowed !== undefined ? { allowed } : {}),
    });
  };
  if (!isObj(o) || o.kind !== 'HorizontalPodAutoscaler' || !VERSIONS.includes(o.apiVersion as HpaVersion)) {
    const shown = isObj(o)
      ? `${typeof o.apiVersion === 'string' ? o.apiVersion : '(no apiVersion)'} ${typeof o.kind === 'string' ? o.kind : '(no kind)'}`
      : Array.isArray(o)
        ? 'a list'
        : `a ${o === null ? 'null' : typeof o}`;
    // The value is only apiVersion and kind: an input that is not a manifest at all (a token file)
    // must not reach the terminal.
    problems.push({
      ...where(input),
      code: 'HR_NOT_HPA',
      message: `not a HorizontalPodAutoscaler: ${shown}`,
      allowed: `kind HorizontalPodAutoscaler with apiVersion ${VERSIONS.join(', ')}, or a List of them`,
    });
    return { problems };
  }
  const version = o.apiVersion as HpaVersion;
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const name = str(meta.name);
  if (name === undefined || !DNS_SUBDOMAIN.test(name) || name.length > 253) {
    bad('metadata.name', name === undefined ? 'required' : 'not a Kubernetes name', meta.name, 'a DNS subdomain');
  }
  const ns = str(meta.namespace) ?? opts.namespace;
  if (ns !== undefined && (!DNS_LABEL.test(ns) || ns.length > 63)) {
    bad('metadata.namespace', 'not a namespace name', ns, 'a DNS label');
  }

  // scaleTargetRef
  const ref = obj(spec.scaleTargetRef);
  const refKind = str(ref.kind);
  const refName = str(ref.name);
  let refApi = str(ref.apiVersion);
  if (!isObj(spec.scaleTargetRef)) bad('spec.scaleTargetRef', 'required: what the HPA scales', undefined);
  else {
    if (refKind === undefined || !/^[A-Z][A-Za-z0-9]*$/.test(refKind)) {
      bad('spec.scaleTargetRef.kind', refKind === undefined ? 'required' : 'not a kind', ref.kind, 'e.g. Deployment');
    }
    if (refName === undefined) bad('spec.scaleTargetRef.name', 'required', ref.name, 'the name of the target');
    if (refApi === undefined && refKind !== undefined && APPS_KINDS.has(refKind)) refApi = 'apps/v1';
    if (refApi === undefined || !/^[a-z0-9.-]+\/[a-z0-9]+$/.test(refApi)) {
      bad(
        'spec.scaleTargetRef.apiVersion',
        refApi === undefined
          ? `required for kind ${refKind ?? '?'} (only Deployment, StatefulSet and ReplicaSet imply apps/v1)`
          : 'a HeadroomPolicy needs a group/version target (a core v1 ReplicationController has no group: move it to a Deployment)',
        ref.apiVersion,
        'group/version, e.g. apps/v1',
      );
    }
  }

  // replicas
  const max = spec.maxReplicas;
  const minRaw = spec.minReplicas ?? 1;
  const wholeIn = (v: unknown, lo: number): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= 100_000;
  if (!wholeIn(max, 1)) {
    bad('spec.maxReplicas', max === undefined ? 'required' : 'out of range', max, 'a whole number 1..100000');
  }
  if (!wholeIn(minRaw, 0)) bad('spec.minReplicas', 'out of range', minRaw, 'a whole number 0..100000');
  else if (wholeIn(max, 1) && minRaw > max) {
    bad('spec.minReplicas', 'above maxReplicas', minRaw, `<= spec.maxReplicas (${max})`);
  }

  const mapped: string[] = [];
  const unmapped: ProblemDetail[] = [];
  // The HPA's name leads the message unless its place already says it (a live object).
  const named = name === undefined || `${input.file ?? ''} ${input.at ?? ''}`.includes(`${ns ? `${ns}/` : ''}${name}`);
  const unmap = (path: string, what: string, why: string): void => {
    unmapped.push({
      ...where(input, path),
      code: 'HR_HPA_UNMAPPED',
      message: `${named ? '' : `${ns ? `${ns}/` : ''}${name}: `}${what} is not mapped: ${why}`,
    });
  };

  const cpu = cpuTarget(version, spec, unmap);
  const behavior = version === 'autoscaling/v2' || version === 'autoscaling/v2beta2' ? spec.behavior : undefined;
  const b = behavior === undefined ? undefined : mapBehavior(behavior, bad, unmap, mapped);

  if (problems.length > 0 || name === undefined || !refKind || !refName || !refApi || !wholeIn(max, 1)) {
    return { problems };
  }
  const min = minRaw as number;
  const id = `${ns ? `${ns}/` : ''}${name}`;
  mapped.unshift(
    `scaleTargetRef ${refApi} ${refKind} ${refName}${str(ref.apiVersion) === undefined ? ' (apiVersion apps/v1 inferred)' : ''}`,
    `minReplicas ${min}${spec.minReplicas === undefined ? ' (the HPA default)' : ''}, maxReplicas ${max} → service.replicas`,
    cpu.text,
  );
  if (behavior === undefined) {
    mapped.push('no behavior: the HPA defaults, which are also Headroom’s (scale-down window 300 s)');
  }
  const cm = { name: configMapName(name), key: PROFILE_KEY };
  const policy: PolicyManifest = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: {
      name,
      ...(ns !== undefined ? { namespace: ns } : {}),
      annotations: { 'headroom.dev/imported-from': `${version} HorizontalPodAutoscaler ${id}` },
    },
    spec: {
      scaleTargetRef: { apiVersion: refApi, kind: refKind, name: refName },
      mode: 'shadow',
      service: {
        instance: {},
        targetUtilization: cpu.utilization,
        replicas: { min, max },
        ...(b && Object.keys(b).length > 0 ? { behavior: b } : {}),
      },
      capacity: { profile: { configMapKeyRef: cm } },
      demand: { query: demandQuery(ns, refKind, refName) },
    },
  };
  // The same check the controller makes (spec.service), with a stand-in for the capacity the user
  // has yet to give: what the import wrote must not be what makes the policy invalid.
  try {
    serviceModelFromSpec({ ...policy.spec.service, name: 'import', instance: { serviceTimeMs: 1 } }, { path: 'spec' });
  } catch (err) {
    if (!(err instanceof HeadroomError)) throw err;
    for (const p of err.problems) bad(p.path ?? '', `the policy would be invalid: ${p.message}`, p.value, p.allowed);
    return { problems };
  }
  return {
    policy: {
      from: { apiVersion: version, id },
      policy,
      mapped,
      unmapped,
      profileConfigMap: cm,
      cpuFromHpa: cpu.fromHpa,
    },
    problems,
  };
}

/** `<name>-capacity`, cut to a valid ConfigMap name. */
function configMapName(name: string): string {
  const suffix = '-capacity';
  return `${name.slice(0, 253 - suffix.length).replace(/[.-]+$/, '')}${suffix}`;
}

/**
 * sum(rate(http_requests_total{namespace="shop",pod=~"checkout-[a-z0-9]+-[a-z0-9]+"}[1m])): the pods
 * of the target by name (a Deployment's pods are <name>-<replicaset hash>-<suffix>, a StatefulSet's
 * <name>-<ordinal>), with the labels a Kubernetes pod scrape job keeps (examples/k8s/prometheus.yml).
 */
export function demandQuery(namespace: string | undefined, kind: string, name: string): string {
  const base = name.replace(/[.]/g, '\\\\.');
  const pods =
    kind === 'Deployment'
      ? `${base}-[a-z0-9]+-[a-z0-9]+`
      : kind === 'StatefulSet'
        ? `${base}-[0-9]+`
        : kind === 'ReplicaSet'
          ? `${base}-[a-z0-9]+`
          : `${base}-.*`;
  const sel = [...(namespace !== undefined ? [`namespace="${namespace}"`] : []), `pod=~"${pods}"`].join(',');
  return `sum(rate(${DEMAND_METRIC}{${sel}}[1m]))`;
}

type Unmap = (path: string, what: string, why: string) => void;

const WHY_RATE =
  'Headroom sizes from one request rate (spec.demand) and the capacity of one instance; a target on this metric has no request-rate meaning it could translate (if it counts requests, put it in spec.demand.query)';
const WHY_MEMORY =
  'Headroom does not size from memory use; give the memory request in service.instance.memory so it counts what fits on the nodes';
const WHY_CPU_VALUE =
  'a CPU amount per pod, not a share of the CPU request: targetUtilization cannot be derived from it without the pod’s request';
const WHY_CONTAINER =
  'a target on one container’s resource use; Headroom sizes the pod from its request rate, not from a container’s CPU or memory';

/** The CPU Utilization target → targetUtilization; every other metric is named in `unmap`. */
function cpuTarget(
  version: HpaVersion,
  spec: Obj,
  unmap: Unmap,
): { utilization: number; text: string; fromHpa: boolean } {
  const found: { pct: number; path: string }[] = [];
  if (version === 'autoscaling/v1') {
    const pct = spec.targetCPUUtilizationPercentage;
    if (pct !== undefined) found.push({ pct: Number(pct), path: 'spec.targetCPUUtilizationPercentage' });
  } else {
    const metrics = Array.isArray(spec.metrics) ? spec.metrics : [];
    metrics.forEach((raw, i) => {
      const m = obj(raw);
      const path = `spec.metrics[${i}]`;
      const type = str(m.type) ?? '(no type)';
      const beta1 = version === 'autoscaling/v2beta1';
      if (type === 'Resource') {
        const r = obj(m.resource);
        const t = beta1 ? beta1Target(r) : obj(r.target);
        const res = str(r.name) ?? '?';
        if (res === 'cpu' && t.type === 'Utilization' && typeof t.averageUtilization === 'number') {
          if (found.length === 0) found.push({ pct: t.averageUtilization, path });
          else unmap(path, `a second CPU target (${targetText(t)})`, `the first, at ${found[0]?.path}, is used`);
        } else {
          unmap(
            path,
            `Resource metric ${res} (${targetText(t)})`,
            res === 'memory' ? WHY_MEMORY : res === 'cpu' ? WHY_CPU_VALUE : WHY_RATE,
          );
        }
      } else if (type === 'ContainerResource') {
        const r = obj(m.containerResource);
        const t = beta1 ? beta1Target(r) : obj(r.target);
        unmap(
          path,
          `ContainerResource metric ${str(r.name) ?? '?'} of container ${str(r.container) ?? '?'} (${targetText(t)})`,
          WHY_CONTAINER,
        );
      } else if (type === 'Pods' || type === 'Object' || type === 'External') {
        const section = obj(m[type.toLowerCase()]);
        const metricName = beta1 ? str(section.metricName) : str(obj(section.metric).name);
        const t = beta1 ? beta1Target(section) : obj(section.target);
        const of =
          type === 'Object'
            ? ` of ${str(obj(beta1 ? section.target : section.describedObject).kind) ?? '?'} ${str(obj(beta1 ? section.target : section.describedObject).name) ?? '?'}`
            : '';
        unmap(path, `${type} metric ${metricName ?? '?'}${of} (${targetText(t)})`, WHY_RATE);
      } else {
        unmap(path, `a metric of type ${type}`, 'not a metric type of autoscaling/v2');
      }
    });
  }
  const first = found[0];
  if (!first || !Number.isFinite(first.pct) || first.pct <= 0) {
    const none = version === 'autoscaling/v1' || !Array.isArray(spec.metrics) || spec.metrics.length === 0;
    const pct = HPA_DEFAULT_CPU_UTILIZATION;
    return {
      utilization: pct / 100,
      fromHpa: false,
      text: none
        ? `no metrics: the HPA's default CPU target ${pct} % → targetUtilization ${pct / 100}`
        : `no CPU utilization target: targetUtilization ${pct / 100} (the HPA's default CPU target)`,
    };
  }
  const u = Math.min(1, Math.round(first.pct) / 100);
  return {
    utilization: u,
    fromHpa: true,
    text:
      first.pct > 100
        ? `CPU target ${first.pct} % of the request (${first.path}) → targetUtilization 1 (at most 1: Headroom's utilization is the busy share of one instance's capacity)`
        : `CPU target ${first.pct} % (${first.path}) → targetUtilization ${u}`,
  };
}

/** autoscaling/v2beta1's flat target fields in the v2 shape. */
function beta1Target(s: Obj): Obj {
  if (s.targetAverageUtilization !== undefined)
    return { type: 'Utilization', averageUtilization: s.targetAverageUtilization };
  if (s.targetAverageValue !== undefined) return { type: 'AverageValue', averageValue: s.targetAverageValue };
  if (s.targetValue !== undefined) return { type: 'Value', value: s.targetValue };
  return {};
}

function targetText(t: Obj): string {
  const type = str(t.type) ?? 'no target';
  const v = type === 'Utilization' ? t.averageUtilization : type === 'AverageValue' ? t.averageValue : t.value;
  const shown = typeof v === 'number' || typeof v === 'string' ? String(v).slice(0, 40) : '?';
  return type === 'Utilization' ? `target ${shown} %` : type === 'no target' ? type : `target ${type} ${shown}`;
}

/**
 * behavior → the policy's behavior: the same HPA field names, ranges and defaults, copied as given
 * (unset fields keep the defaults, which are the HPA's). tolerance (HPA ≥ 1.33): scaleDown's becomes
 * behavior.tolerance; Headroom takes every scale-up of one instance, so scaleUp's has nowhere to go.
 */
function mapBehavior(
  raw: unknown,
  bad: (path: string, message: string, value?: unknown, allowed?: string) => void,
  unmap: Unmap,
  mapped: string[],
): Record<string, unknown> | undefined {
  if (!isObj(raw)) {
    bad('spec.behavior', 'not a map', raw, 'scaleUp and scaleDown');
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const dir of ['scaleUp', 'scaleDown'] as const) {
    const d = raw[dir];
    if (d === undefined || d === null) continue;
    const path = `spec.behavior.${dir}`;
    if (!isObj(d)) {
      bad(path, 'not a map', d, 'stabilizationWindowSeconds, selectPolicy, policies');
      continue;
    }
    const o: Record<string, unknown> = {};
    const parts: string[] = [];
    if (d.stabilizationWindowSeconds !== undefined && d.stabilizationWindowSeconds !== null) {
      o.stabilizationWindowSeconds = d.stabilizationWindowSeconds;
      parts.push(`window ${String(d.stabilizationWindowSeconds)} s`);
    }
    if (d.selectPolicy !== undefined && d.selectPolicy !== null) {
      o.selectPolicy = d.selectPolicy;
      parts.push(`selectPolicy ${String(d.selectPolicy)}`);
    }
    if (Array.isArray(d.policies) && d.policies.length > 0) {
      o.policies = d.policies.map((p) => {
        const q = obj(p);
        return { type: q.type, value: q.value, periodSeconds: q.periodSeconds };
      });
      parts.push(
        `policies ${d.policies.map((p) => `${String(obj(p).value)} ${obj(p).type === 'Percent' ? '%' : String(obj(p).type)}/${String(obj(p).periodSeconds)} s`).join(', ')}`,
      );
    }
    if (d.tolerance !== undefined && d.tolerance !== null) {
      const t = toleranceOf(d.tolerance);
      if (t === undefined) bad(`${path}.tolerance`, 'not a quantity', d.tolerance, 'e.g. 0.05 or 50m');
      else if (dir === 'scaleDown') {
        out.tolerance = t;
        mapped.push(`behavior.scaleDown.tolerance ${t} → service.behavior.tolerance`);
      } else {
        unmap(
          `${path}.tolerance`,
          `scaleUp.tolerance ${t}`,
          'Headroom applies its tolerance on the way down only: an SLO count is a minimum, and every scale-up is taken',
        );
      }
    }
    for (const k of Object.keys(d)) {
      if (!['stabilizationWindowSeconds', 'selectPolicy', 'policies', 'tolerance'].includes(k)) {
        unmap(`${path}.${k}`, `behavior.${dir}.${k}`, 'not a field Headroom knows');
      }
    }
    if (Object.keys(o).length > 0) out[dir] = o;
    mapped.push(`behavior.${dir}: ${parts.length > 0 ? parts.join(', ') : 'defaults'} → service.behavior.${dir}`);
  }
  return out;
}

/** 0.05, "0.05", "50m" → 0.05. */
function toleranceOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
}
