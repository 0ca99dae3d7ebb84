// The Actuator port over the local supervisor: "replicas" are the supervisor's desired instances.
// There is one writer (the control loop), so the version check only guards against a scale made by
// someone else (e.g. a future API call) between reading and writing.
import type { Actuator, ScaleOutcome, ScaleReading, ScaleTargetRef } from '../../../ports/actuator.ts';

/** What the actuator needs from the supervisor (src/local/supervisor.ts). */
export interface ScalableSupervisor {
  readonly desired: number;
  readonly running: number;
  setDesired(n: number): void;
}

export class LocalActuator implements Actuator {
  private readonly supervisor: ScalableSupervisor;
  private readonly name: string;
  private version = 0;

  constructor(supervisor: ScalableSupervisor, name: string) {
    this.supervisor = supervisor;
    this.name = name;
  }

  /** The scale target this actuator stands for. */
  target(): ScaleTargetRef {
    return { apiVersion: 'headroom.dev/v1', kind: 'LocalService', name: this.name, namespace: 'local' };
  }

  read(target: ScaleTargetRef): Promise<ScaleReading> {
    this.check(target);
    return Promise.resolve({
      specReplicas: this.supervisor.desired,
      statusReplicas: this.supervisor.running,
      version: String(this.version),
    });
  }

  scale(target: ScaleTargetRef, replicas: number, basis?: ScaleReading): Promise<ScaleOutcome> {
    this.check(target);
    if (!Number.isInteger(replicas) || replicas < 0) {
      return Promise.reject(new RangeError(`replicas must be a whole number >= 0, got ${replicas}`));
    }
    // A stale basis (someone scaled since) is re-read: the new value still applies, one attempt more.
    const attempts = basis !== undefined && basis.version !== String(this.version) ? 2 : 1;
    const from = this.supervisor.desired;
    if (from === replicas) return Promise.resolve({ kind: 'unchanged', replicas, attempts });
    this.supervisor.setDesired(replicas);
    this.version++;
    return Promise.resolve({ kind: 'scaled', from, to: replicas, attempts });
  }

  private check(target: ScaleTargetRef): void {
    if (target.kind !== 'LocalService' || target.name !== this.name) {
      throw new RangeError(`this actuator scales LocalService ${this.name}, not ${target.kind} ${target.name}`);
    }
  }
}
