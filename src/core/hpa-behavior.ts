// The HPA's behaviour math, shared by decide() and the simulator's HPA baseline so the two cannot
// drift apart: the stabilization windows (stabilizeRecommendationWithBehaviors) and the rate
// policies (calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors).
import type { DirectionBehavior } from './model.ts';

/**
 * HPA stabilizeRecommendationWithBehaviors: the current count moved up to the lowest recommendation
 * of the up window and down to the highest of the down window (`rec`, now's, is always in both).
 */
export function stabilize(
  recommendations: ReadonlyArray<readonly [number, number]>,
  now: number,
  rec: number,
  current: number,
  b: { scaleUp: DirectionBehavior; scaleDown: DirectionBehavior },
): { desired: number; upRec: number; downRec: number } {
  let upRec = rec;
  let downRec = rec;
  for (const [t, r] of recommendations) {
    if (t > now - b.scaleUp.stabilizationSeconds) upRec = Math.min(upRec, r);
    if (t > now - b.scaleDown.stabilizationSeconds) downRec = Math.max(downRec, r);
  }
  let desired = current;
  if (desired < upRec) desired = upRec;
  if (desired > downRec) desired = downRec;
  return { desired, upRec, downRec };
}

function changeWithin(events: ReadonlyArray<[number, number]>, now: number, period: number, sign: 1 | -1): number {
  let sum = 0;
  for (const [t, d] of events) if (t > now - period && Math.sign(d) === sign) sum += Math.abs(d);
  return sum;
}

/** The count when a policy's period began: now's, less what this decider added since, plus what it removed. */
function periodStart(current: number, events: ReadonlyArray<[number, number]>, now: number, period: number): number {
  return current - changeWithin(events, now, period, 1) + changeWithin(events, now, period, -1);
}

/**
 * HPA calculateScaleUpLimitWithScalingRules (dir 1) and calculateScaleDownLimitWithBehaviors (dir
 * −1): each policy proposes a count from the count its period started at; `select` picks the most
 * (max) or the least (min) change among them, and the limit never moves against the direction.
 */
function scaleLimit(
  dir: 1 | -1,
  current: number,
  events: ReadonlyArray<[number, number]>,
  now: number,
  rules: DirectionBehavior,
): number {
  if (rules.select === 'disabled') return current;
  // The most change is the highest count going up and the lowest going down.
  const highest = (rules.select === 'max') === (dir === 1);
  let result = highest ? -Infinity : Infinity;
  for (const p of rules.policies) {
    const start = periodStart(current, events, now, p.periodSeconds);
    // Up from zero a percentage adds nothing: count the start as one instance so 0 → 1 is possible.
    const proposed =
      p.type === 'pods'
        ? start + dir * p.value
        : dir === 1
          ? Math.ceil(Math.max(1, start) * (1 + p.value / 100))
          : Math.trunc(start * (1 - p.value / 100));
    result = highest ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  if (!Number.isFinite(result)) return current;
  return dir === 1 ? Math.max(current, result) : Math.min(current, Math.max(0, result));
}

export function scaleUpLimit(
  current: number,
  events: ReadonlyArray<[number, number]>,
  now: number,
  rules: DirectionBehavior,
): number {
  return scaleLimit(1, current, events, now, rules);
}

export function scaleDownLimit(
  current: number,
  events: ReadonlyArray<[number, number]>,
  now: number,
  rules: DirectionBehavior,
): number {
  return scaleLimit(-1, current, events, now, rules);
}
