// When the controller decides a count but does not write it. Pure: the caller gives the time.
//   - A pause, from the policy's annotation `headroom.dev/paused`: "true" (no writes), "up" (no
//     scaling up; scaling down goes on) or "down" (no scaling down), as KEDA's paused annotation
//     and keda#944's one-direction pause. The decision is still made and shown.
//   - A back-off after another writer changed the replicas Headroom last wrote: a GitOps sync
//     (Argo CD, Flux) resetting them to the manifest's count, or a person's `kubectl scale`.
//     Writing back every interval would fight it forever (keda#3052, argo-cd#1079), so the
//     controller records an Event and leaves the target alone for spec.externalWriteBackoffSeconds
//     (default 300; 0 = write back at once, as the HPA does). E.g. Argo CD resetting 5 → 2 every
//     3 minutes against a 300-s back-off: Headroom writes 5 once per 5 minutes instead of every 15 s.
import type { ScaleReading, ScaleTargetRef } from '../ports/actuator.ts';

export const PAUSE_ANNOTATION = 'headroom.dev/paused';
export const DEFAULT_EXTERNAL_WRITE_BACKOFF_SECONDS = 300;

/** all: nothing is written; up: scaling up is paused; down: scaling down is paused. */
export type Pause = 'all' | 'up' | 'down';

/** The pause an annotation asks for; an unknown value is an error (never a silent "not paused"). */
export function pauseOf(annotations: Readonly<Record<string, string>> | undefined): { pause?: Pause; error?: string } {
  const v = annotations?.[PAUSE_ANNOTATION];
  if (v === undefined || v === '' || v === 'false') return {};
  if (v === 'true') return { pause: 'all' };
  if (v === 'up' || v === 'down') return { pause: v };
  return {
    error: `HR_SPEC_INVALID annotation ${PAUSE_ANNOTATION}: ${JSON.stringify(v)} is not one of "true", "false", "up", "down"`,
  };
}

/** The annotation's value for a pause, as the user wrote it. */
export const pauseValue = (p: Pause): string => (p === 'all' ? 'true' : p);

export interface Hold {
  reason: 'Paused' | 'BackingOff' | 'ScalingDisabled';
  message: string;
}

/** Why the decided count is not written this round, or undefined when it may be. */
export function holdOf(o: {
  pause?: Pause | undefined;
  /** Until when (ms) another writer's count is left alone. */
  backoffUntilMs?: number | undefined;
  /** replicas.min: a target at 0 under a minimum ≥ 1 is switched off, as the HPA does. */
  minReplicas?: number;
  nowMs: number;
  current: number;
  desired: number;
}): Hold | undefined {
  const would = o.desired !== o.current ? `: would scale ${o.current} → ${o.desired}` : '';
  // The HPA's ScalingDisabled: someone scaled the target to 0 (or created it so) to switch it off;
  // scaling it back up would undo that every back-off. replicas.min 0 means "scale from zero".
  if (o.current === 0 && (o.minReplicas ?? 0) > 0) {
    return {
      reason: 'ScalingDisabled',
      message: `the target has 0 replicas: scaling is off until it is scaled above 0 (replicas.min ${o.minReplicas}; min 0 lets Headroom scale from zero)${would}`,
    };
  }
  if (o.pause === 'all') {
    return { reason: 'Paused', message: `paused (${PAUSE_ANNOTATION}: "true"), the scale is not written${would}` };
  }
  const up = o.desired > o.current;
  if (o.desired !== o.current && ((o.pause === 'up' && up) || (o.pause === 'down' && !up))) {
    return {
      reason: 'Paused',
      message: `scaling ${up ? 'up' : 'down'} is paused (${PAUSE_ANNOTATION}: "${o.pause}")${would}`,
    };
  }
  // Shown for the whole back-off, also while nothing would be written.
  if (o.backoffUntilMs !== undefined && o.backoffUntilMs > o.nowMs) {
    return {
      reason: 'BackingOff',
      message: `another writer set the replicas: not writing them until ${new Date(o.backoffUntilMs).toISOString()} (spec.externalWriteBackoffSeconds)${would}`,
    };
  }
  return undefined;
}

/**
 * The object a written count belongs to: `apps/v1/Deployment/web/<uid>` (no uid: the scale did not
 * say). A Deployment deleted and created again under its name has a new uid.
 */
export function appliedTarget(t: ScaleTargetRef, reading: Pick<ScaleReading, 'uid'>): string {
  return `${t.apiVersion}/${t.kind}/${t.name}${reading.uid ? `/${reading.uid}` : ''}`;
}

/**
 * Did someone else change the count Headroom last wrote? `applied` is what it wrote (undefined
 * when it has not written since the last change it saw, e.g. after a restart with no status).
 */
export function externallyWritten(applied: number | undefined, specReplicas: number): boolean {
  return applied !== undefined && applied !== specReplicas;
}
