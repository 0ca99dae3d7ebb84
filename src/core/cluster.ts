// What the nodes can fit: the seed's host formula (instances = min(cores ÷ cpu per instance,
// memory ÷ memory per instance)) per node, summed, and spread evenly over zones when the service
// asks for a zone rule.
//
// E.g. nodes of 8 CPU / 32Gi and instances of 500m / 256Mi: min(8000/500, 32768/256) = min(16, 128)
// = 16 per node. Three such nodes in zones a, a, b with zones = 2: zone a fits 32, zone b 16; an even
// spread puts ceil(N/2) in one zone and floor(N/2) in the other, so N ≤ 16 + 17 = 33.

export interface NodeModel {
  name: string;
  zone?: string;
  /** Allocatable CPU, millicores. */
  cpuMillis: number;
  /** Allocatable memory, bytes. */
  memoryBytes: number;
}

export interface ClusterModel {
  nodes: NodeModel[];
}

export interface InstanceSize {
  cpuMillis?: number;
  memoryBytes?: number;
}

/** Instances of `size` that fit in the free room of one node. Infinity when size asks for nothing. */
export function fitOnNode(free: { cpuMillis: number; memoryBytes: number }, size: InstanceSize): number {
  let n = Infinity;
  if (size.cpuMillis !== undefined && size.cpuMillis > 0)
    n = Math.min(n, Math.floor(free.cpuMillis / size.cpuMillis + 1e-9));
  if (size.memoryBytes !== undefined && size.memoryBytes > 0) {
    n = Math.min(n, Math.floor(free.memoryBytes / size.memoryBytes + 1e-9));
  }
  return Math.max(0, n);
}

/** Instances per zone ('' = nodes without a zone label), given free room per node. */
export function fitPerZone(nodes: readonly NodeModel[], size: InstanceSize): Map<string, number> {
  const perZone = new Map<string, number>();
  for (const node of nodes) {
    const zone = node.zone ?? '';
    perZone.set(zone, (perZone.get(zone) ?? 0) + fitOnNode(node, size));
  }
  return perZone;
}

/**
 * Largest N whose even spread over `zones` zones fits: q = floor(N/z) in every zone and one more in
 * N mod z of them. The extra ones go to the roomiest zones, so with capacities sorted descending
 * cap[0] ≥ … ≥ cap[z−1], N fits iff cap[z−1] ≥ q and (r = 0 or cap[r−1] ≥ q + 1).
 */
export function maxEvenSpread(capacities: readonly number[], zones: number): number {
  const caps = [...capacities].sort((a, b) => b - a).slice(0, zones);
  if (caps.length < zones) return 0;
  if (caps.some((c) => c === Infinity)) {
    const finite = caps.filter((c) => c !== Infinity);
    if (finite.length === 0) return Infinity;
  }
  const fits = (n: number): boolean => {
    const q = Math.floor(n / zones);
    const r = n % zones;
    if ((caps[zones - 1] ?? 0) < q) return false;
    return r === 0 || (caps[r - 1] ?? 0) >= q + 1;
  };
  // Upper bound: everything fits at most sum of caps; search by bisection.
  let lo = 0;
  let hi = caps.reduce((a, b) => a + Math.min(b, 1e9), 0);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface Placement {
  /** Instances placed per node name. */
  perNode: Map<string, number>;
  placed: number;
}

/**
 * Places `count` instances on the free room of `nodes` (mutated: room is consumed), spreading over
 * `zones` zones when zones > 1 (the roomiest zones take the extra ones), and within a zone onto the
 * node that fits the most (spreads load, keeps big holes for big instances). Deterministic.
 */
export function place(
  nodes: Array<{ name: string; zone?: string; cpuMillis: number; memoryBytes: number }>,
  size: InstanceSize,
  count: number,
  zones: number,
): Placement {
  const perNode = new Map<string, number>();
  let placed = 0;
  const byZone = new Map<string, typeof nodes>();
  for (const n of nodes) {
    const key = zones > 1 ? (n.zone ?? '') : '';
    const list = byZone.get(key) ?? [];
    list.push(n);
    byZone.set(key, list);
  }
  const zoneList = [...byZone.entries()]
    .map(([zone, list]) => ({ zone, list, cap: list.reduce((a, n) => a + fitOnNode(n, size), 0) }))
    .sort((a, b) => b.cap - a.cap || a.zone.localeCompare(b.zone))
    .slice(0, Math.max(1, zones));
  const z = zoneList.length;
  for (let i = 0; i < z; i++) {
    const share = Math.floor(count / z) + (i < count % z ? 1 : 0);
    const zone = zoneList[i];
    if (!zone) continue;
    for (let k = 0; k < share; k++) {
      let best: (typeof nodes)[number] | undefined;
      let bestFit = 0;
      for (const n of zone.list) {
        const f = fitOnNode(n, size);
        if (f > bestFit) {
          best = n;
          bestFit = f;
        }
      }
      if (!best) break;
      best.cpuMillis -= size.cpuMillis ?? 0;
      best.memoryBytes -= size.memoryBytes ?? 0;
      perNode.set(best.name, (perNode.get(best.name) ?? 0) + 1);
      placed++;
    }
  }
  return { perNode, placed };
}
