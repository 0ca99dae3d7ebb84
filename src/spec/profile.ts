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

export const capacityProfileSchema = z.object({
  kind: z.literal(PROFILE_KIND),
  target: z.string(),
  measuredAt: z.string(),
  slo: z.object({ latencyMs: z.number().positive(), percentile: z.number().gt(0).lt(100) }),
  /** Highest rate (rps) at which the SLO percentile held. */
  kneeRps: z.number().nonnegative(),
  /** Fitted queueing parameters for one instance. */
  serviceTimeMs: z.number().min(0.001).max(3_600_000),
  concurrency: z.number().int().positive().max(100_000),
  steps: z.array(profileStepSchema),
  /** Optional extras written by `headroom loadtest`: an interrupted run (knee is a lower bound), */
  partial: z.boolean().optional(),
  /** the knee the fitted M/M/c model predicts, and how concurrency was fitted. */
  predictedKneeRps: z.number().nonnegative().optional(),
  fitMethod: z.enum(['saturation', 'curve', 'single-step']).optional(),
});

export type CapacityProfile = z.infer<typeof capacityProfileSchema>;
export type ProfileStep = z.infer<typeof profileStepSchema>;
