// Who may write a scale target. Two writers of one scale fight: two HeadroomPolicies asking 3 and 5
// flap the target every interval; a policy and an HPA likewise. Pure: the caller gives the cached
// policies and HPAs.
//   - An HPA (autoscaling/v1 or /v2: one stored object, every version shows it) on the same target
//     wins: the policy yields and says so. Kubernetes owns the HPA; Headroom is the newcomer.
//   - Among active HeadroomPolicies on the same target, the oldest (creationTimestamp, then name)
//     wins; the others yield. Deterministic, and stable while the winner exists: a new policy
//     never takes over a target from a working one.
//   - Shadow policies never write: they neither yield nor make others yield.
// Same target = same namespace, API group, kind and name (the version may differ).
import type { HeadroomPolicy } from './policy.ts';

export interface HpaLike {
  metadata?: { name?: string; namespace?: string } | undefined;
  spec?: { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } | undefined } | undefined;
}

export interface Conflict {
  by: 'HorizontalPodAutoscaler' | 'HeadroomPolicy';
  /** The winner's name (same namespace). */
  name: string;
  message: string;
}

const group = (apiVersion: string | undefined): string | undefined => {
  if (apiVersion === undefined) return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
};

function sameTarget(
  ns: string,
  ref: HeadroomPolicy['spec']['scaleTargetRef'],
  otherNs: string | undefined,
  other: { apiVersion?: string | undefined; kind?: string | undefined; name?: string | undefined } | undefined,
): boolean {
  if (!other || otherNs !== ns || other.kind !== ref.kind || other.name !== ref.name) return false;
  // autoscaling/v1's scaleTargetRef.apiVersion is optional: kind and name decide then.
  const g = group(other.apiVersion);
  return g === undefined || g === group(ref.apiVersion);
}

/** ms since the epoch; unknown = newest (it never beats a policy whose age is known). */
function createdMs(p: HeadroomPolicy): number {
  const t = p.metadata.creationTimestamp;
  const ms = t instanceof Date ? t.getTime() : Date.parse(String(t ?? ''));
  return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
}

/** Older first, then by name: the first one of a target writes. */
export function precedes(a: HeadroomPolicy, b: HeadroomPolicy): boolean {
  const ta = createdMs(a);
  const tb = createdMs(b);
  if (ta !== tb) return ta < tb;
  return a.metadata.name < b.metadata.name;
}

/** Why `p` must not write its target, or undefined when it may. */
export function conflictOf(
  p: HeadroomPolicy,
  policies: readonly HeadroomPolicy[],
  hpas: readonly HpaLike[],
): Conflict | undefined {
  if (p.spec.mode === 'shadow') return undefined;
  const ns = p.metadata.namespace;
  const ref = p.spec.scaleTargetRef;
  const target = `${ref.kind} ${ref.name}`;
  const hpa = hpas
    .filter((h) => sameTarget(ns, ref, h.metadata?.namespace, h.spec?.scaleTargetRef))
    .map((h) => h.metadata?.name ?? '')
    .sort()[0];
  if (hpa !== undefined) {
    return {
      by: 'HorizontalPodAutoscaler',
      name: hpa,
      message: `HorizontalPodAutoscaler ${hpa} also scales ${target}: this policy yields to it and writes nothing (delete the HPA or this policy, or set mode: shadow)`,
    };
  }
  let winner: HeadroomPolicy | undefined;
  for (const o of policies) {
    if (o.spec.mode === 'shadow' || (o.metadata.uid !== undefined && o.metadata.uid === p.metadata.uid)) continue;
    if (o.metadata.name === p.metadata.name && o.metadata.namespace === ns) continue;
    if (!sameTarget(ns, ref, o.metadata.namespace, o.spec.scaleTargetRef)) continue;
    if (precedes(o, p) && (!winner || precedes(o, winner))) winner = o;
  }
  if (!winner) return undefined;
  return {
    by: 'HeadroomPolicy',
    name: winner.metadata.name,
    message: `HeadroomPolicy ${winner.metadata.name} also scales ${target} and is older: this policy yields and writes nothing (delete one of them, or set mode: shadow)`,
  };
}
