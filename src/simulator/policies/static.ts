// Static: the count `headroom plan` gives for the trace's peak, held all along — what a team sizing
// for the worst hour would run. It reads the trace once, for its peak only.
import type { ServiceModel } from '../../core/model.ts';
import { planService } from '../../core/plan.ts';
import type { CapacityTable } from '../capacity.ts';
import type { OfflinePolicy } from './types.ts';

export function staticPolicy(): OfflinePolicy {
  return {
    kind: 'offline',
    name: 'static',
    label: 'static',
    schedule(demand: Float64Array, _table: CapacityTable, model: ServiceModel): Int32Array {
      let peak = 0;
      for (const v of demand) if (v > peak) peak = v;
      const plan = planService({ ...model, demandRps: peak });
      return new Int32Array(demand.length).fill(plan.replicas);
    },
  };
}
