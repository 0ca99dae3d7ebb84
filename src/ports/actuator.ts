// Reads and sets the instance count of one scale target. Kubernetes: the scale subresource of a
// Deployment, StatefulSet or custom resource; local mode: the supervisor.

export interface ScaleTargetRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export interface ScaleReading {
  /** The count currently asked for (scale spec.replicas). */
  specReplicas: number;
  /** The count the target reports (scale status.replicas): pods that exist, ready or not. */
  statusReplicas: number;
  /** Of those, the ones Ready (serving capacity); undefined when the target cannot say. */
  readyReplicas?: number;
  /** Label selector of the target's pods, when the target publishes one. */
  selector?: string;
  /** Optimistic-concurrency token: a write based on this reading fails if the target changed since. */
  version: string;
  /** The target object's uid: a target deleted and created again under its name is another object. */
  uid?: string;
  /**
   * The object that controls the target (its ownerReference with controller: true), e.g. the
   * Deployment of a ReplicaSet: it sets the target's replicas, so a policy must not.
   */
  owner?: { apiVersion: string; kind: string; name: string };
}

export type ScaleOutcome =
  | { kind: 'scaled'; from: number; to: number; attempts: number }
  | { kind: 'unchanged'; replicas: number; attempts: number };

export interface Actuator {
  read(target: ScaleTargetRef): Promise<ScaleReading>;
  /**
   * Set the count to `replicas`. `basis` is the reading the decision was made on; when the target
   * changed since (a conflict), the actuator re-reads and retries, and reports `unchanged` if the
   * target already holds `replicas`.
   */
  scale(target: ScaleTargetRef, replicas: number, basis?: ScaleReading): Promise<ScaleOutcome>;
}
