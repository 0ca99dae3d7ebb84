// The burst path: when the short window asks more than the ready instances carry at the target,
// size for it at once, with no scale-up rate limit (Knative's panic mode has none either). When the
// short window is well above the stable one, a rise is under way and the count is sized for where
// it will be once new instances are ready.
import type { Observation, Reason } from './decide.ts';
import type { ServiceModel } from './model.ts';

/**
 * How far the burst is above the stable window when it counts as a rise under way, not noise
 * (±10–20 % a minute): not at all at RISE_FROM×, fully from RISE_FULL×, in proportion between, so
 * a burst a hair either side of one threshold cannot double the count (no hair trigger).
 */
export const RISE_FROM = 1.25;
export const RISE_FULL = 1.75;

/** The stable window when the observation does not say (Knative's 60 s; run's default). */
const STABLE_WINDOW_S = 60;

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
  horizon: number,
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
  const rise = riseAhead(burst, stable, obs.stableWindowSeconds ?? STABLE_WINDOW_S, horizon);
  if (!rise) return { rps: burst, reasons };
  reasons.push({ code: 'Burst', message: rise.message });
  return { rps: rise.rps, reasons };
}

/**
 * A rise under way (a flash crowd ramps over minutes, in steps). Instances asked for now serve
 * `horizon` s from now, when the rise will have gone on: extend its slope (the stable mean is
 * centred half a window back, the burst now) over the horizon, weighted by how clearly it is a rise,
 * at most to twice the burst (never over-react). E.g. stable 644, burst 1,069 rps (1.66×: weight
 * 0.82), horizon 120 s, window 60 s: 1,069 + 0.82 × 425 × 120/30 = 2,463 → capped at 2,138.
 */
function riseAhead(
  burst: number,
  stable: number,
  windowSeconds: number,
  horizon: number,
): { rps: number; message: string } | undefined {
  if (!(stable > 0) || !(windowSeconds > 0)) return undefined;
  const weight = Math.min(1, (burst / stable - RISE_FROM) / (RISE_FULL - RISE_FROM));
  if (!(weight > 0)) return undefined;
  const slopePerS = (burst - stable) / (windowSeconds / 2);
  const rps = Math.min(burst + weight * slopePerS * horizon, 2 * burst);
  return {
    rps,
    message: `a rise under way (${fmt(burst)} rps, ${fmt(burst / stable)}× the stable ${fmt(stable)}): sized for ${fmt(rps)} rps, its slope over the next ${horizon} s (at most 2× the burst)`,
  };
}
