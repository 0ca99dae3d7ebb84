// After a fall: the scale-down window lets a crowd's or a spike's counts go once demand has fallen,
// when this service's past falls did not come back. The HPA holds its highest recommendation 300 s
// whatever follows; KPA follows a decay within its 60-s window. Which is right depends on the
// service, so it is learned, as a burst's growth is (burst.ts):
//
// - a fall: the stable demand below 1/1.5 of the highest minute reading of the last full down window
//   (at most the 20 minutes the forecast keeps). E.g. a crowd read at 1,644 rps that now reads 1,050;
// - each fall is followed for FALL_WATCH_S (15 minutes) and came back if demand rose again to 1.5×
//   the lowest it read since (a new jump on the way down, or a second wave);
// - while a fall is under way and none of the last FALLS_NEEDED (2) falls came back, the down window
//   holds only the horizon (startupSeconds + 60 s): what is asked for now is ready by then anyway.
//
// NASA's log shows single-minute jumps minutes after a fall (rescaled to a 20,000-rps peak: 1,037 →
// 346 rps, then a 2,025-rps minute 5 minutes on): its falls come back and its window stays 300 s.
// WorldCup98 fell 1,209 → 770 and came back to 1,202 nine minutes later: a 5-minute watch released
// it and cost 87 violating seconds, 15 minutes does not. Flash crowds and periodic spikes decay and stay down:
// after two such falls the count follows the decay (docs/benchmarks.md, "After a fall").
// The state is at most 8 pairs and one 4-tuple.

/** A fall: the stable demand below 1/FALL_RATIO of the window's highest reading. */
export const FALL_RATIO = 1.5;
/** How long a fall is followed to see whether demand came back (1.5× its lowest since). */
export const FALL_WATCH_S = 900;
/** Falls that must not have come back before one lets the window go. */
export const FALLS_NEEDED = 2;
/** Outcomes kept: the last 8 falls, forgotten after 8 days (the forecast's history length). */
const FALL_KEEP = 8;
const FALL_FORGET_S = 8 * 86400;

export interface FallHistory {
  /** The fall under way: [first seen, the window's highest reading then, lowest demand since, came back (1) or not (0)]. */
  open?: [number, number, number, number];
  /** [time, came back (1) or not (0)] of the last FALL_KEEP falls followed to the end, oldest first. */
  outcomes: Array<[number, number]>;
}

/**
 * Follows falls with this tick's stable demand and `highest`, the highest minute reading of the
 * down window: closes the one under way after FALL_WATCH_S, and opens one when demand fell.
 */
export function followFalls(h: FallHistory | undefined, now: number, demand: number, highest: number): FallHistory {
  let outcomes = (h?.outcomes ?? []).filter(([t]) => t > now - FALL_FORGET_S && t <= now);
  let open = h?.open;
  if (open) {
    const low = Math.min(open[2], demand);
    open = [open[0], open[1], low, open[3] === 1 || demand >= FALL_RATIO * low ? 1 : 0];
    if (now > open[0] + FALL_WATCH_S || now < open[0]) {
      outcomes = [...outcomes, [open[0], open[3]] as [number, number]].slice(-FALL_KEEP);
      open = undefined;
    }
  }
  if (!open && demand * FALL_RATIO < highest) open = [now, highest, demand, 0];
  return open ? { open, outcomes } : { outcomes };
}

/** A fall under way that lets the window go: from what. */
export interface FallRelease {
  /** The window's highest reading when the fall was first seen, rps. */
  from: number;
}

/** Whether the fall under way lets the down window go: none of the last FALLS_NEEDED came back. */
export function fallRelease(h: FallHistory): FallRelease | undefined {
  if (!h.open) return undefined;
  const last = h.outcomes.slice(-FALLS_NEEDED);
  if (last.length < FALLS_NEEDED || last.some(([, back]) => back === 1)) return undefined;
  return { from: h.open[1] };
}
