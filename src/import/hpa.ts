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
import { pathSegments } from '../input/validate.ts';
import { cpuTarget, isObj, mapBehavior, obj, str } from './hpa-sections.ts';

export { HPA_DEFAULT_CPU_UTILIZATION } from './hpa-sections.ts';

/** One HPA to import, and where it came from (for messages). */
export interface HpaInput {
  object: unknown;
  /** The file, or e.g. `apiserver` for live objects. */
  file?: string;
  /** Where in the file: `line 14`, `line 20 (items[2])`. */
  at?: string;
  /** Line and column of a key of this object in the file, when it was read from one (YAML). */
  position?: (path: ReadonlyArray<string | number>) => { line: number; column: number } | undefined;
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

/** The key of the capacity profile in its ConfigMap. */
export const PROFILE_KEY = 'profile.json';
/** The request counter the suggested demand query reads (the example service's, Prometheus naming). */
export const DEMAND_METRIC = 'http_requests_total';

const VERSIONS = ['autoscaling/v1', 'autoscaling/v2', 'autoscaling/v2beta2', 'autoscaling/v2beta1'] as const;
export type HpaVersion = (typeof VERSIONS)[number];
const APPS_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Items of `List` / `HorizontalPodAutoscalerList` documents in place of the list; everything else as
 * is. `itemAt(i)` says where item i is (its line), for messages.
 */
export function expandLists(input: HpaInput, itemAt?: (i: number) => string): HpaInput[] {
  const o = input.object;
  if (isObj(o) && typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
    const pos = input.position;
    return o.items.map((item, i) => ({
      object: item,
      ...(input.file !== undefined ? { file: input.file } : {}),
      at: itemAt?.(i) ?? `${input.at ? `${input.at}: ` : ''}items[${i}]`,
      ...(pos ? { position: (path: ReadonlyArray<string | number>) => pos(['items', i, ...path]) } : {}),
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

function where(input: HpaInput, path?: string): Pick<ProblemDetail, 'file' | 'path' | 'line' | 'column'> {
  const file = input.file !== undefined ? { file: input.file } : {};
  // The key's own line and column when the file says (`hpa.yaml:6:16: spec.minReplicas`), else the
  // document's line (`hpa.yaml: line 1: spec.minReplicas`).
  const at = path !== undefined && path !== '' ? input.position?.(pathSegments(path)) : undefined;
  if (at && path !== undefined) {
    const item = /items\[\d+\]$/.exec(input.at ?? '')?.[0];
    return { ...file, line: at.line, column: at.column, path: item ? `${item}.${path}` : path };
  }
  const p = [input.at, path].filter((s) => s !== undefined && s !== '').join(': ');
  return { ...file, ...(p !== '' ? { path: p } : {}) };
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

  const cpu = cpuTarget(version, spec, unmap, bad);
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
