// The capacity profile `headroom loadtest` writes and `plan`, `run` and the controller read in place
// of hand-written serviceTimeMs/concurrency (spec: `instance: { profile: ./checkout.profile.json }`).
import { z } from 'zod';

export const PROFILE_KIND = 'headroom.dev/capacity-profile/v1';

export const profileStepSchema = z.object({
  targetRps: z.number().nonnegative(),
  achievedRps: z.number().nonnegative(),
  sent: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  latencyMs: z.object({ p50: z.number(), p90: z.number(), p99: z.number(), p999: z.number(), max: z.number() }),
  sloMet: z.boolean(),
  /** Optional extras written by `headroom loadtest`. */
  meanMs: z.number().nonnegative().optional(),
  late: z.number().int().nonnegative().optional(),
});

/** A step delivered less than this share of the asked rate: the target was saturated. */
export const SATURATION_SHARE = 0.9;

/** Fewer sequential probe samples than this give no service-time distribution (the tail is luck). */
export const MIN_PROBE_SAMPLES = 200;

const quantilesSchema = z
  .object({
    p50: z.number().positive(),
    p90: z.number().positive(),
    p99: z.number().positive(),
    p999: z.number().positive(),
  })
  .refine((q) => q.p50 < q.p90 && q.p90 < q.p99 && q.p99 < q.p999, {
    message: 'quantiles must be strictly increasing: p50 < p90 < p99 < p999',
  });

/**
 * One request's service time as the probe of `headroom loadtest` measured it: sequential requests,
 * one at a time (no queueing), so each latency is a service time plus the round trip (not
 * subtracted). ms. E.g. the example service, WORK_MS=20 fixed, sleep mode, on a busy 2-core machine:
 * 876 samples, meanMs 22.8, cv 0.27, p50 21.2, p99 52.1 (the tail is the machine's stalls).
 */
export const profileServiceTimeSchema = z.object({
  source: z.literal('probe'),
  samples: z.number().int().min(MIN_PROBE_SAMPLES),
  meanMs: z.number().positive(),
  /** Standard deviation ÷ mean: 0 fixed, 1 exponential. */
  cv: z.number().nonnegative(),
  quantilesMs: quantilesSchema,
});

export const capacityProfileSchema = z.object({
  kind: z.literal(PROFILE_KIND),
  target: z.string(),
  measuredAt: z.string(),
  slo: z.object({ latencyMs: z.number().positive(), percentile: z.number().gt(0).lt(100) }),
  /** Highest rate (rps) at which the SLO percentile held. */
  kneeRps: z.number().nonnegative(),
  /**
   * No rate broke the SLO (--max-rps reached, or the run stopped first): the true knee is above
   * kneeRps, and a fit from a curve that never bent is extrapolated. `plan` warns. Absent in
   * profiles written before it.
   */
  kneeIsLowerBound: z.boolean().optional(),
  /** Fitted queueing parameters for one instance. */
  serviceTimeMs: z.number().min(0.001).max(3_600_000),
  concurrency: z.number().int().positive().max(100_000),
  steps: z.array(profileStepSchema),
  /** Optional extras written by `headroom loadtest`: an interrupted run (knee is a lower bound), */
  partial: z.boolean().optional(),
  /** the knee the fitted M/M/c model predicts, and how concurrency was fitted. */
  predictedKneeRps: z.number().nonnegative().optional(),
  fitMethod: z.enum(['saturation', 'curve', 'single-step']).optional(),
  /** The service-time distribution from the probe (absent: too few samples, or an older profile). */
  serviceTime: profileServiceTimeSchema.optional(),
});

export type CapacityProfile = z.infer<typeof capacityProfileSchema>;
export type ProfileStep = z.infer<typeof profileStepSchema>;
export type ProfileServiceTime = z.infer<typeof profileServiceTimeSchema>;

/**
 * Did the load test see the instance's throughput ceiling? Then its concurrency is measured (c =
 * the ceiling × the service time, fitMethod `saturation`); otherwise it was inferred from how the
 * latency grew (`curve`) or assumed (`single-step`: 1). Profiles written before fitMethod: from
 * their steps (one delivered < 90 % of its rate).
 */
export function concurrencyMeasured(profile: CapacityProfile): boolean {
  if (profile.fitMethod !== undefined) return profile.fitMethod === 'saturation';
  return profile.steps.some((st) => st.achievedRps < SATURATION_SHARE * st.targetRps);
}
