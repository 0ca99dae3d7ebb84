// The availability constraint's arithmetic: how many instances survive losing zones and instances.

/** Instances surviving the loss of the f fullest zones and then k more instances. */
export function survivors(n: number, zones: number, zoneFailures: number, instanceFailures: number): number {
  const q = Math.floor(n / zones);
  const r = n % zones;
  const lost = Math.min(zoneFailures, r) * (q + 1) + Math.max(0, zoneFailures - r) * q;
  return Math.max(0, n - lost - instanceFailures);
}

/** Smallest N ≥ base whose survivors still cover base (survivors is non-decreasing in N). */
export function availabilityCount(base: number, zones: number, zoneFailures: number, instanceFailures: number): number {
  // Nothing to keep (no demand): losing zones or instances cannot take it below 0.
  if (base <= 0) return 0;
  const z = Math.max(1, zones);
  let lo = base;
  let hi = Math.max(base, 1);
  while (survivors(hi, z, zoneFailures, instanceFailures) < base) hi *= 2;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (survivors(mid, z, zoneFailures, instanceFailures) >= base) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
