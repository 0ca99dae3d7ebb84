// How many instances this host fits: the seed's formula, per resource the instance asks for,
//   fit = floor(min(hostCores × 1000 / cpuMillis, hostMemory / memoryBytes))
// E.g. 2 cores, 8 GiB, instances of 250m and 256Mi → min(2000/250, 8192/256) = min(8, 32) = 8.
// The host is one node to the core's fitOnNode (the same formula `plan` applies to cluster nodes).
// Undefined when the spec gives neither cpu nor memory (then the host does not bound the count).
import { fitOnNode } from '../core/cluster.ts';
import type { InstanceModel } from '../core/model.ts';
import type { HostResources } from '../adapters/metrics/process/proc.ts';

export function hostFitLimit(
  host: HostResources,
  instance: Pick<InstanceModel, 'cpuMillis' | 'memoryBytes'>,
): number | undefined {
  const n = fitOnNode({ cpuMillis: host.cores * 1000, memoryBytes: host.memoryBytes }, instance);
  return Number.isFinite(n) ? n : undefined;
}
