// The spec file family (YAML or JSON) every command reads: `plan`, `run`, `simulate`, and the
// `service` of a Kubernetes HeadroomPolicy. Validated once here; the JSON Schema for editors is
// generated from it (`schema/headroom.schema.json`, `npm run headroom -- schema`).
import { z } from 'zod';
import { FORECAST_HISTORY_SECONDS } from '../core/model.ts';

/** The most instances a spec's replicas.min/max allow (and so the most a backtest replays). */
export const MAX_REPLICAS = 100_000;

const quantity = z.union([z.string(), z.number().nonnegative()]);

const name = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and -, ≤ 63 characters');

export const ratePolicySchema = z.strictObject({
  type: z.enum(['Pods', 'Percent']),
  value: z.number().int().positive().max(100_000),
  periodSeconds: z.number().int().min(1).max(1800),
});

export const directionSchema = z.strictObject({
  stabilizationWindowSeconds: z.number().int().min(0).max(3600).optional(),
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']).optional(),
  policies: z.array(ratePolicySchema).min(1).max(10).optional(),
});

export const behaviorSchema = z.strictObject({
  tolerance: z.number().min(0).lt(1).optional(),
  scaleUp: directionSchema.optional(),
  scaleDown: directionSchema.optional(),
  burst: z
    .strictObject({
      enabled: z.boolean().optional(),
      windowSeconds: z.number().int().min(1).max(600).optional(),
      threshold: z.number().min(1).max(10).optional(),
      learn: z.boolean().optional(),
    })
    .optional(),
  forecast: z
    .strictObject({
      enabled: z.boolean().optional(),
      quietPhase: z
        .boolean()
        .optional()
        .describe(
          "In a detected period's quiet phase, the scale-down window holds only that phase's recommendations, and after a fall (demand under 2/3 of the window's high) the startup horizon's, once this service's last 2 falls did not come back (default true); false holds the full window always, as the HPA does",
        ),
      historySeconds: z
        .number()
        .int()
        .min(0)
        .max(FORECAST_HISTORY_SECONDS)
        .optional()
        .describe(
          "Seconds of the demand query's past the controller reads from Prometheus when the policy has no demand history yet (its first round, or after its status was reset), so the forecast starts calibrated with its periods found instead of learning them for hours; 0 reads none (default 691200, 8 days: what the forecast keeps)",
        ),
    })
    .optional(),
  fallback: z
    .strictObject({
      afterFailures: z.number().int().min(1).max(1000),
      replicas: z.number().int().min(0).max(100_000),
    })
    .optional(),
});

const price = (what: string) => z.number().min(0).max(1_000_000).optional().describe(what);

/** Prices: per CPU core-hour and GiB-hour of the instance's requests, or per instance-hour; not both. */
export const pricingSchema = z
  .strictObject({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code: three capital letters (USD, EUR)')
      .optional()
      .describe('ISO 4217 code, e.g. USD or EUR; a label, never converted'),
    cpuHour: price('Price of one CPU core of instance.cpu for one hour'),
    memoryGiBHour: price('Price of one GiB of instance.memory for one hour'),
    instanceHour: price('Price of one instance for one hour, whatever its size (instead of cpuHour/memoryGiBHour)'),
  })
  .describe('Prices, for cost per month (730 h) in plan, simulate and the dashboard');

export const usageSampleSchema = z.strictObject({
  /** Seconds (unix time) or an ISO 8601 timestamp. */
  t: z.union([z.number(), z.string()]),
  cpu: quantity.optional(),
  memory: quantity.optional(),
});

/** An SLO's percentile: a percent, 50 ≤ p < 100; 0.99 is p99 written as a fraction (it would size for p0.99). */
export const percentileSchema = z
  .number()
  .gte(50)
  .lt(100)
  .refine((p) => !(p > 0 && p <= 1), {
    error: (iss) => `${String(iss.input)} looks like a fraction: the percentile is a percent, 99 for p99`,
  })
  .describe('Share of requests within the bound, a percent from 50 to below 100, e.g. 99 or 99.9');

export const serviceSpecSchema = z.strictObject({
  name,
  demand: z
    .strictObject({ rps: z.number().nonnegative().max(1e9).describe('Requests per second to size for') })
    .optional()
    .describe('Planned demand (plan, what-if); live modes measure it'),
  instance: z.strictObject({
    serviceTimeMs: z.number().min(0.001).max(3_600_000).optional().describe('Mean time one request takes, ms (≥ 1 µs)'),
    concurrency: z.number().int().min(1).max(100_000).optional().describe('Requests one instance serves at once'),
    serviceTimeCv: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe("Coefficient of variation of one request's service time: 0 fixed, 1 exponential (the default)"),
    serviceTimeQuantilesMs: z
      .strictObject({
        p50: z.number().positive().max(3_600_000),
        p90: z.number().positive().max(3_600_000),
        p99: z.number().positive().max(3_600_000),
        p999: z.number().positive().max(3_600_000),
      })
      .optional()
      .describe('Service-time quantiles of one request with no queueing, ms, increasing'),
    /** A capacity profile written by `headroom loadtest`; explicit serviceTimeMs/concurrency win. */
    profile: z.string().min(1).optional().describe('Capacity profile from `headroom loadtest` (relative to this file)'),
    cpu: quantity.optional().describe('CPU request per instance: 500m, 2'),
    memory: quantity.optional().describe('Memory request per instance: 256Mi, 1Gi'),
    cpuLimit: quantity.optional(),
    memoryLimit: quantity.optional(),
  }),
  loadBalancing: z
    .enum(['leastRequests', 'random'])
    .optional()
    .describe('leastRequests: one shared M/M/(N·c) queue; random (kube-proxy): N separate M/M/c queues'),
  slo: z
    .strictObject({
      latencyMs: z.number().positive().max(3_600_000).describe('Response-time bound, ms'),
      percentile: percentileSchema,
      scope: z
        .enum(['service', 'endToEnd'])
        .optional()
        .describe(
          "service (default): this service's own response time; endToEnd: the whole request through everything it calls (on the entry of a call graph, docs/graph.md)",
        ),
    })
    .optional()
    .describe('Latency SLO: P(response time ≤ latencyMs) ≥ percentile %'),
  calls: z
    .array(
      z.strictObject({
        service: z.string().min(1).max(63).describe('The service called (a name in this file)'),
        perRequest: z
          .number()
          .max(1000)
          .describe('Mean calls per request, > 0; a fraction such as 1.5 means 1 or 2 calls, 1.5 on average'),
        mode: z
          .enum(['sequential', 'parallel'])
          .optional()
          .describe('sequential (default): one after another; parallel: all together, the slowest counts'),
      }),
    )
    .max(1000)
    .optional()
    .describe('What this service calls for each request it serves, after its own work (a call graph: docs/graph.md)'),
  targetUtilization: z
    .number()
    .gt(0)
    .max(1)
    .optional()
    .describe('Target average utilization; default 0.7 without an SLO, 0.9 with one'),
  replicas: z
    .strictObject({
      min: z.number().int().min(0).max(MAX_REPLICAS).optional(),
      max: z.number().int().min(1).max(MAX_REPLICAS).optional(),
    })
    .optional(),
  availability: z
    .strictObject({
      zones: z.number().int().min(1).max(64).optional(),
      zoneFailures: z.number().int().min(0).max(63).optional(),
      instanceFailures: z.number().int().min(0).max(100_000).optional(),
    })
    .optional(),
  startupSeconds: z
    .number()
    .min(0)
    .max(3600)
    .optional()
    .describe('Seconds from a scale-up decision to a ready instance'),
  behavior: behaviorSchema.optional(),
  /** Observed per-instance usage for vertical (request/limit) advice. */
  usage: z.array(usageSampleSchema).max(1_000_000).optional(),
  pricing: pricingSchema.optional().describe("This service's prices, instead of the file's `pricing:`"),
});

export const nodeSpecSchema = z.strictObject({
  name: z.string().min(1).max(253),
  zone: z.string().min(1).max(63).optional(),
  cpu: quantity,
  memory: quantity,
  /** Shorthand for `count` identical nodes named name-1 … name-count. */
  count: z.number().int().min(1).max(10_000).optional(),
});

export const specFileSchema = z.strictObject({
  services: z.array(serviceSpecSchema).min(1).max(100_000),
  cluster: z.strictObject({ nodes: z.array(nodeSpecSchema).min(1).max(100_000) }).optional(),
  pricing: pricingSchema.optional(),
  /** Sections owned by other commands, validated by them: `run` (local cluster), `alerts`, `simulate`. */
  run: z.unknown().optional(),
  alerts: z.unknown().optional(),
  simulate: z.unknown().optional(),
});

export type ServiceSpec = z.infer<typeof serviceSpecSchema>;
export type SpecFile = z.infer<typeof specFileSchema>;

/** JSON Schema (draft 2020-12) of the spec file, for editors (yaml-language-server). */
export function specJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://headroom.dev/schema/headroom.schema.json',
    title: 'Headroom spec',
    ...z.toJSONSchema(specFileSchema, { io: 'input' }),
  };
}
