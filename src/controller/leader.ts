// Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
// the holder renews spec.renewTime every retryPeriod; a candidate takes over only when it has
// seen the same record unchanged for leaseDuration on ITS OWN clock (no clock-skew trust).
// Writes carry resourceVersion, so two candidates racing for an expired lease get one 200 and
// one 409. E.g. lease 15 s, renew deadline 10 s, retry 2 s (client-go defaults): a crashed leader
// is replaced after ≤ 15 + 2 s; a leader that cannot renew for 10 s stops acting before anyone
// else may start (10 < 15).
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { KubeClients } from '../adapters/kubernetes/client.ts';
import { messageOf, statusOf } from '../adapters/kubernetes/client.ts';
import { systemClock, type Clock } from '../ports/clock.ts';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  log?: (msg: string) => void;
  /** Lease times are wall time; the expiry and renew-deadline checks run on `monotonic`. */
  clock?: Clock;
}

export class LeaderElector {
  readonly #k: KubeClients;
  readonly #clock: Clock;
  readonly #o: Required<Omit<LeaderOptions, 'onStartedLeading' | 'onStoppedLeading' | 'log' | 'clock'>> & LeaderOptions;
  #leader = false;
  #observed = '';
  /** Seconds, monotonic: when #observed last changed (or we wrote it). */
  #observedAt = 0;
  /** Seconds, monotonic. */
  #lastRenew = 0;
  #stopped = false;
  #wake: AbortController = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(clients: KubeClients, opts: LeaderOptions) {
    this.#k = clients;
    this.#clock = opts.clock ?? systemClock;
    this.#o = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2, ...opts };
    if (this.#o.renewDeadlineSeconds >= this.#o.leaseDurationSeconds) {
      throw new Error('renewDeadlineSeconds must be below leaseDurationSeconds');
    }
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.#o.log?.(`lease ${this.#o.namespace}/${this.#o.name}: ${messageOf(err)}`);
      }
      const now = this.#clock.monotonic();
      if (ok) {
        this.#lastRenew = now;
        if (!this.#leader) {
          this.#leader = true;
          this.#o.log?.(`became leader (${this.#o.identity})`);
          this.#o.onStartedLeading?.();
        }
      } else if (this.#leader && now - this.#lastRenew > this.#o.renewDeadlineSeconds) {
        this.#lose('could not renew the lease within the renew deadline');
      }
      await this.#clock.sleep(this.#o.retryPeriodSeconds, this.#wake.signal);
    }
  }

  #lose(why: string): void {
    if (!this.#leader) return;
    this.#leader = false;
    this.#o.log?.(`stopped leading: ${why}`);
    this.#o.onStoppedLeading?.();
  }

  /** One round: create, renew, or take over an expired lease. True when we hold it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.#o;
    const now = this.#microTime();
    let lease: V1Lease;
    try {
      lease = await this.#k.coordination.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      try {
        await this.#k.coordination.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (e) {
        if (statusOf(e) === 409) return false; // someone else created it first
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${spec.renewTime ? new Date(spec.renewTime).toISOString() : ''}`;
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = this.#clock.monotonic();
    }
    const holder = spec.holderIdentity ?? '';
    const duration = spec.leaseDurationSeconds ?? leaseDurationSeconds;
    const mine = holder === identity;
    if (!mine && holder !== '' && this.#observedAt + duration > this.#clock.monotonic()) {
      if (this.#leader) this.#lose(`lease held by ${holder}`);
      return false;
    }
    const next: V1Lease = {
      ...lease,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      const saved = await this.#k.coordination.replaceNamespacedLease({ name, namespace, body: next });
      this.#observed = `${identity}|${saved.spec?.renewTime ? new Date(saved.spec.renewTime).toISOString() : ''}`;
      this.#observedAt = this.#clock.monotonic();
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false; // lost the race; re-read next round
      throw err;
    }
  }

  /** Stop campaigning and, if leading, give the lease up so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake.abort();
    await this.#loop;
    if (!this.#leader) return;
    this.#lose('shutting down');
    const { namespace, name, identity } = this.#o;
    try {
      const lease = await this.#k.coordination.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.#k.coordination.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: this.#microTime() },
        },
      });
    } catch (err) {
      this.#o.log?.(`could not release the lease: ${messageOf(err)}`);
    }
  }

  /** Wall time in whole ms: the API server keeps microseconds, Date keeps ms. */
  #microTime(): V1MicroTime {
    return new V1MicroTime(Math.round(this.#clock.now() * 1000));
  }
}
