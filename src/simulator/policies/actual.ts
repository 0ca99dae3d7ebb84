// Actual: the replicas the cluster really ran (e.g. kube_deployment_status_replicas), replayed as
// a fixed schedule through the same engine, so its instance-hours, money and modelled violations
// are computed exactly as every other policy's. It ignores the demand: it is history, not a policy.
import type { OfflinePolicy } from './types.ts';

export function actualPolicy(replicas: Int32Array, label = 'actual'): OfflinePolicy {
  return {
    kind: 'offline',
    name: 'actual',
    label,
    schedule(demand: Float64Array): Int32Array {
      if (demand.length !== replicas.length) {
        throw new RangeError(`actual: ${replicas.length} seconds of replicas for ${demand.length} of demand`);
      }
      return replicas;
    },
  };
}
