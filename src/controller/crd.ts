// The HeadroomPolicy CustomResourceDefinition, generated from code so that `spec.service` has
// exactly the keys, types and ranges of one service in the `headroom plan` spec (the zod schema
// in src/input/schema.ts, converted to a Kubernetes structural OpenAPI v3 schema).
// deploy/crds/ and the Helm chart hold its YAML; a test checks they match this function.
import { z } from 'zod';
import { stringify } from 'yaml';
import { serviceSpecSchema } from '../input/schema.ts';

export const GROUP = 'headroom.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'headroompolicies';
export const KIND = 'HeadroomPolicy';
export const CRD_NAME = `${PLURAL}.${GROUP}`;
/** A Prometheus metric name (the CRD's pattern, and the check of spec.demand.pods.metric). */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

type Json = Record<string, unknown>;

/** JSON Schema (zod output) → structural schema the apiserver accepts (apiextensions.k8s.io/v1). */
export function toStructural(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toStructural);
  if (s === null || typeof s !== 'object') return s;
  const src = s as Json;
  // zod's quantity union (string | number ≥ 0) → int-or-string, the Kubernetes quantity idiom.
  const any = src.anyOf as Json[] | undefined;
  if (any && any.length === 2 && any.some((a) => a.type === 'string') && any.some((a) => a.type === 'number')) {
    return { 'x-kubernetes-int-or-string': true };
  }
  if (Array.isArray(src.type)) {
    // zod writes `type: [number, string]` for an unconstrained union: the same int-or-string idiom.
    return { 'x-kubernetes-int-or-string': true };
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$schema' || k === 'additionalProperties' || k === 'description') continue;
    if (k === 'exclusiveMinimum' && typeof v === 'number') Object.assign(out, { minimum: v, exclusiveMinimum: true });
    else if (k === 'exclusiveMaximum' && typeof v === 'number')
      Object.assign(out, { maximum: v, exclusiveMaximum: true });
    else if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Json).map(([p, ps]) => [p, toStructural(ps)]));
    } else out[k] = toStructural(v);
  }
  // Maps of strings keep their value schema; `additionalProperties: false` is implied by pruning.
  if (src.additionalProperties && typeof src.additionalProperties === 'object') {
    out.additionalProperties = toStructural(src.additionalProperties);
  }
  return out;
}

/** `spec.service`: the plan spec's service without name (metadata.name), demand (Prometheus) and
 *  instance.profile (a file path; use spec.capacity.profile with a ConfigMap instead). */
export function serviceSchema(): Json {
  const s = toStructural(z.toJSONSchema(serviceSpecSchema, { io: 'input' })) as Json;
  const props = { ...(s.properties as Json) };
  delete props.name;
  delete props.demand;
  const instance = props.instance as Json;
  const iprops = { ...(instance.properties as Json) };
  delete iprops.profile;
  props.instance = { ...instance, properties: iprops };
  const required = ((s.required as string[] | undefined) ?? []).filter((r) => r !== 'name' && r !== 'demand');
  return {
    description: 'The same keys as one service in the `headroom plan` spec, without name and demand.',
    type: 'object',
    properties: props,
    ...(required.length > 0 ? { required } : {}),
  };
}

const str = (extra: Json = {}): Json => ({ type: 'string', ...extra });
const stringMap = (): Json => ({ type: 'object', additionalProperties: { type: 'string' } });
const int = (min: number, max: number, extra: Json = {}): Json => ({
  type: 'integer',
  minimum: min,
  maximum: max,
  ...extra,
});
const duration = str({ pattern: '^[0-9]+(ms|s|m|h)$' });

function specSchema(): Json {
  return {
    type: 'object',
    required: ['scaleTargetRef', 'service', 'demand'],
    properties: {
      scaleTargetRef: {
        description: 'What to scale: anything with a scale subresource (Deployment, StatefulSet, custom resources).',
        type: 'object',
        required: ['apiVersion', 'kind', 'name'],
        properties: {
          apiVersion: str({ pattern: '^[a-z0-9.-]+/[a-z0-9]+$' }),
          kind: str({ pattern: '^[A-Z][A-Za-z0-9]*$' }),
          name: str({ minLength: 1, maxLength: 253 }),
        },
      },
      mode: {
        description: 'active writes the scale; shadow only decides and reports in status and events.',
        type: 'string',
        enum: ['active', 'shadow'],
        default: 'active',
      },
      intervalSeconds: int(1, 3600, { description: 'Seconds between decisions for this policy.', default: 15 }),
      service: serviceSchema(),
      capacity: {
        description: 'Per-instance capacity in place of service.instance serviceTimeMs/concurrency.',
        type: 'object',
        properties: {
          profile: {
            description: 'A `headroom loadtest` capacity profile (JSON) in a ConfigMap key.',
            type: 'object',
            required: ['configMapKeyRef'],
            properties: {
              configMapKeyRef: {
                type: 'object',
                required: ['name', 'key'],
                properties: { name: str({ minLength: 1 }), key: str({ minLength: 1 }) },
              },
            },
          },
          learned: {
            description: 'Mean service time measured live: a PromQL query returning milliseconds.',
            type: 'object',
            required: ['serviceTimeQuery'],
            properties: { serviceTimeQuery: str({ minLength: 1 }), concurrency: int(1, 100_000) },
          },
        },
      },
      demand: {
        description: 'Arrival rate in requests/s: a PromQL query, or a template for common cases.',
        type: 'object',
        oneOf: [{ required: ['query'] }, { required: ['template'] }],
        properties: {
          query: str({ minLength: 1 }),
          burstQuery: str({ minLength: 1, description: 'Short-window rate for the burst path (optional).' }),
          template: {
            type: 'object',
            required: ['name', 'metric'],
            properties: {
              name: {
                description: 'requestRate: sum(rate(<metric>{<selector>}[<window>])).',
                type: 'string',
                enum: ['requestRate'],
              },
              metric: str({ pattern: METRIC_NAME.source }),
              selector: stringMap(),
              window: { ...duration, default: '1m' },
              burstWindow: duration,
              inFlight: str({
                pattern: METRIC_NAME.source,
                description:
                  "A gauge of requests received and not yet answered (e.g. http_requests_in_flight): the rate becomes answered + the growth in flight (deriv), what arrived, which a saturated pool's answers alone cannot show.",
              }),
            },
          },
          pods: {
            description:
              "The burst path reads the target's ready pods itself each round (GET http://<podIP>:<port><path>, as Knative's autoscaler reads its queue-proxies), not a Prometheus burst query: a burst is seen within a round instead of a scrape interval or two. The stable demand stays the query's or template's. Needs RBAC to list pods and network access to them.",
            type: 'object',
            required: ['port', 'metric'],
            properties: {
              port: {
                description: 'The container port, by number or name (e.g. metrics).',
                'x-kubernetes-int-or-string': true,
              },
              path: str({ pattern: '^/', default: '/metrics' }),
              metric: str({
                pattern: METRIC_NAME.source,
                description: 'A request counter, e.g. http_requests_total; its series are summed.',
              }),
              labels: { description: 'Only series with these labels, e.g. { code: "200" }.', ...stringMap() },
              inFlight: str({
                pattern: METRIC_NAME.source,
                description:
                  'A gauge of requests received and not yet answered, queue included (e.g. http_requests_in_flight). With it the reading is the arrival rate (answered + the growth in flight): a counter of answers alone cannot read more than saturated pods serve.',
              }),
            },
          },
        },
      },
      latency: {
        description:
          'Measured latency at the SLO percentile: the controller checks its latency model against it every round (status.model) and, unless calibrate is false, sizes with service times scaled to match (reason Calibrated).',
        type: 'object',
        oneOf: [{ required: ['template'] }, { required: ['query', 'requestsQuery'] }],
        properties: {
          query: str({ minLength: 1, description: 'PromQL: the latency at the SLO percentile, in unit.' }),
          requestsQuery: str({
            minLength: 1,
            description: "PromQL: the requests in the latency query's window (200 or more to count).",
          }),
          unit: { type: 'string', enum: ['s', 'ms'], default: 's' },
          template: {
            type: 'object',
            required: ['name', 'metric'],
            properties: {
              name: {
                description:
                  'histogram: histogram_quantile(<SLO percentile>, sum by (le) (rate(<metric>_bucket{<selector>}[<window>]))), in seconds; the model is read through the same bucket bounds (count by (le) (<metric>_bucket{<selector>})) before the two are compared.',
                type: 'string',
                enum: ['histogram'],
              },
              metric: str({ pattern: METRIC_NAME.source }),
              selector: stringMap(),
              window: { ...duration, default: '1m' },
            },
          },
          calibrate: {
            description: 'Correct the model from the measurement; false only reports how far off it is.',
            type: 'boolean',
            default: true,
          },
          halfLifeSeconds: int(1, 86_400, {
            description: 'Half-life of the correction: how long a new measurement takes to count half.',
            default: 60,
          }),
        },
      },
      fallback: {
        description: 'After afterFailures consecutive decisions without metrics, scale to replicas (KEDA-style).',
        type: 'object',
        required: ['afterFailures', 'replicas'],
        properties: { afterFailures: int(1, 1000), replicas: int(0, 100_000) },
      },
      externalWriteBackoffSeconds: int(0, 86_400, {
        description:
          'When another writer (a GitOps sync, kubectl scale) changes the replicas this controller wrote: leave them alone this long, with an ExternalWrite event, instead of writing back every interval. 0 writes back at once (as the HPA does).',
        default: 300,
      }),
    },
  };
}

function statusSchema(): Json {
  const reason = { type: 'object', properties: { code: str(), message: str() } };
  return {
    type: 'object',
    properties: {
      observedGeneration: { type: 'integer', format: 'int64' },
      currentReplicas: { type: 'integer' },
      desiredReplicas: { type: 'integer' },
      recommendedReplicas: { type: 'integer' },
      binding: str(),
      demand: str(),
      lastScaleTime: str({ format: 'date-time' }),
      consecutiveMetricFailures: { type: 'integer' },
      appliedReplicas: {
        type: 'integer',
        description: 'The count this controller last wrote, while the target holds it.',
      },
      appliedTarget: str({
        description:
          'The object appliedReplicas and backoffUntil are about (apiVersion/kind/name/uid): a target created again is another.',
      }),
      backoffUntil: str({
        format: 'date-time',
        description: 'Another writer changed the replicas: no writes until then.',
      }),
      paused: str({ description: 'The headroom.dev/paused annotation in effect: true, up or down.' }),
      graph: {
        type: 'object',
        description: "A HeadroomApplication member: its share of the application's end-to-end SLO.",
        properties: {
          application: str(),
          entry: str(),
          budgetMs: { type: 'number', nullable: true, description: 'Own response time at the SLO percentile, ms.' },
        },
      },
      lastDecision: {
        type: 'object',
        properties: {
          time: str({ format: 'date-time' }),
          desired: { type: 'integer' },
          recommended: { type: 'integer' },
          valid: { type: 'boolean' },
          binding: str(),
          mode: str(),
          demandRps: { type: 'number', nullable: true },
          predictedUtilization: { type: 'number', nullable: true },
          predictedLatencyMs: { type: 'number', nullable: true },
          reasons: { type: 'array', items: reason },
          warnings: {
            type: 'array',
            description: "The plan's warnings at this decision: what `headroom plan` would warn about.",
            items: str(),
          },
        },
      },
      conditions: conditionsSchema(),
      decideState: {
        description: "The decider's state (stabilization history, failure count), so a restart does not flap.",
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
      },
      model: {
        description: 'The latency model against measured latency (spec.latency).',
        type: 'object',
        properties: {
          percentile: { type: 'number' },
          scale: { type: 'number', description: "Service-time scale in use (1 = the spec's)." },
          error: { type: 'number', description: 'Smoothed measured ÷ predicted latency (1 = the model is right).' },
          calibrating: { type: 'boolean' },
          measuredLatencyMs: { type: 'number', nullable: true },
          predictedLatencyMs: { type: 'number', nullable: true },
          calibratedLatencyMs: { type: 'number', nullable: true },
          samples: { type: 'integer' },
          sensitivity: {
            type: 'number',
            description:
              "Read from a histogram: how far histogram_quantile's read moves per move of the service time (below 1 inside a wide bucket); the error is judged as the scale it implies.",
          },
          state: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      },
    },
  };
}

export const READY_STATUS = '.status.conditions[?(@.type=="Ready")].status';
export const READY_REASON = '.status.conditions[?(@.type=="Ready")].reason';

/** Conditions as Kubernetes lists them (a map keyed by type), for both CRDs. */
export function conditionsSchema(): Json {
  return {
    type: 'array',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    items: {
      type: 'object',
      required: ['type', 'status'],
      properties: {
        type: str(),
        status: str({ enum: ['True', 'False', 'Unknown'] }),
        reason: str(),
        message: str(),
        lastTransitionTime: str({ format: 'date-time' }),
        observedGeneration: { type: 'integer', format: 'int64' },
      },
    },
  };
}

/** The Ready condition and its reason, as printer columns: both resources show them. */
export const READY_COLUMNS: Json[] = [
  { name: 'Ready', type: 'string', jsonPath: READY_STATUS },
  { name: 'Reason', type: 'string', jsonPath: READY_REASON },
];

/** A namespaced headroom.dev CRD with a status subresource (HeadroomPolicy, HeadroomApplication). */
export function customResourceDefinition(o: {
  names: { kind: string; plural: string; shortName: string };
  columns: Json[];
  spec: Json;
  status: Json;
}): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.names.plural}.${GROUP}`, labels: { 'app.kubernetes.io/name': 'headroom' } },
    spec: {
      group: GROUP,
      names: {
        kind: o.names.kind,
        listKind: `${o.names.kind}List`,
        plural: o.names.plural,
        singular: o.names.kind.toLowerCase(),
        shortNames: [o.names.shortName],
        categories: ['autoscaling'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          // With columns of its own a list loses kubectl's Age: every Headroom list ends with it.
          additionalPrinterColumns: [
            ...o.columns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: str(),
                kind: str(),
                metadata: { type: 'object' },
                spec: o.spec,
                status: o.status,
              },
            },
          },
        },
      ],
    },
  };
}

export function crdManifest(): Json {
  return customResourceDefinition({
    names: { kind: KIND, plural: PLURAL, shortName: 'hrp' },
    columns: [
      { name: 'Target', type: 'string', jsonPath: '.spec.scaleTargetRef.name' },
      // Ready and its reason: an invalid or conflicting policy has no counts, only these.
      ...READY_COLUMNS,
      { name: 'Mode', type: 'string', jsonPath: '.spec.mode', priority: 1 },
      { name: 'Current', type: 'integer', jsonPath: '.status.currentReplicas' },
      { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas' },
      { name: 'Binding', type: 'string', jsonPath: '.status.binding' },
      { name: 'Demand', type: 'string', jsonPath: '.status.demand', priority: 1 },
      { name: 'Model-Error', type: 'number', jsonPath: '.status.model.error', priority: 1 },
      { name: 'Paused', type: 'string', jsonPath: '.status.paused', priority: 1 },
    ],
    spec: specSchema(),
    status: statusSchema(),
  });
}

export function crdYaml(): string {
  return (
    '# Generated by `headroom controller --print-crd` from src/controller/crd.ts: do not edit by hand.\n' +
    stringify(crdManifest(), { lineWidth: 0 })
  );
}
