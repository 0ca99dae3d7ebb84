// The burst path: when the short window asks more than the ready instances carry at the target,
// size for it at once, with no scale-up rate limit (Knative's panic mode has none either).
// (Sizing a rise under way at its slope was tried and not adopted: docs/benchmarks.md, "Flash
// crowds".)
import type { Observation, Reason } from './decide.ts';
import type { ServiceModel } from './model.ts';

const fmt = (x: number): string => String(Number(x.toPrecision(4)));

/**
 * The demand the burst path sizes for, with its reasons; undefined when it does not fire.
 * `ready` instances carry `carry` rps at the target utilization.
 */
export function burstDemand(
  model: ServiceModel,
  obs: Observation,
  stable: number,
  { ready, carry }: { ready: number; carry: number },
): { rps: number; reasons: Reason[] } | undefined {
  const b = model.behavior.burst;
  const burst = obs.burstDemandRps;
  if (!b.enabled || burst === undefined || !Number.isFinite(burst) || burst <= stable) return undefined;
  if (burst < b.threshold * carry) return undefined;
  const reasons: Reason[] = [
    {
      code: 'Burst',
      message: `last ${fmt(obs.burstWindowSeconds ?? b.windowSeconds)} s at ${fmt(burst)} rps ≥ ${b.threshold}× what ${ready} ready instances carry (${fmt(carry)} rps): sizing for the burst, no scale-up rate limit`,
    },
  ];
  return { rps: burst, reasons };
}
