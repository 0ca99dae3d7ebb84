// The controller's HeadroomApplications between rounds: before the due policies are reconciled,
// each application with a due member is checked (application.ts) and planned at its entry's
// demand (application-round.ts); its members' shares go to their reconciles. After them (settle),
// its status is written when it changed, saying which members did not apply the plan; the plan is
// kept for the dashboard (GraphView).
import type { ServiceModel } from '../core/model.ts';
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';
import type { MetricsSource } from '../ports/metrics.ts';
import { graphView, type GraphView } from '../server/graph-view.ts';
import { applicationGraph, memberNames, type HeadroomApplication, type Member } from './application.ts';
import {
  applicationStatus,
  notApplying,
  planApplication,
  sameApplicationStatus,
  sharesOf,
  type ApplicationRound,
  type GraphShare,
} from './application-round.ts';
import type { HeadroomPolicy, PolicyStatus } from './policy.ts';
import { logProblem, type LoggedProblem, type Logger } from './reconcile.ts';

/** A member's share, with the model its graph sizes it by (the entry's SLO, 0.9 utilization default). */
export interface MemberShare {
  share: GraphShare;
  model: ServiceModel;
}

export interface ApplicationPorts {
  metrics: Pick<MetricsSource, 'sample'>;
  /** Writes an application's status whole; false when not written (retried next round). */
  status: { writeStatus(ref: HeadroomApplication['metadata'], status: object): Promise<boolean> };
  /** The member's model (the controller's ModelCache). */
  model: (p: HeadroomPolicy) => Promise<Member['model']>;
  /** The member's status after its last reconcile (the controller's memory); default: as listed. */
  memberStatus?: (p: HeadroomPolicy) => PolicyStatus | undefined;
  log: Logger;
}

/** An application planned this round, its status written after its members' reconciles. */
interface Pending {
  app: HeadroomApplication;
  r: ApplicationRound;
  members: HeadroomPolicy[];
}

const key = (ns: string, name: string): string => `${ns}/${name}`;
const uidOf = (o: { metadata: { uid?: string; namespace: string; name: string } }): string =>
  o.metadata.uid ?? key(o.metadata.namespace, o.metadata.name);

export class Applications {
  /** Last status written per application (uid). */
  readonly #written = new Map<string, HeadroomApplication['status']>();
  /** Generation last planned per application (uid): a spec change makes its members due. */
  readonly #seen = new Map<string, number>();
  readonly #views = new Map<string, GraphView>();
  /** Each application's last check (uid): what it depended on, and the members it claimed. */
  readonly #checks = new Map<string, { sig: string; claims: readonly string[] }>();
  /** Moves on clear(): a round that awaited across a change of leader drops its work. */
  #epoch = 0;
  /** The problem last logged per application (uid), and when: logged again only when it changes. */
  readonly #logged = new Map<string, LoggedProblem>();
  #pending: Pending[] = [];

  /** Policies to reconcile this round: the due ones, plus every member of an application that changed. */
  due(apps: readonly HeadroomApplication[], policies: readonly HeadroomPolicy[], due: readonly HeadroomPolicy[]) {
    const out = new Map(due.map((p) => [uidOf(p), p]));
    for (const a of apps) {
      if (this.#seen.get(uidOf(a)) === (a.metadata.generation ?? 0)) continue;
      const names = new Set(memberNames(a.spec));
      for (const p of policies) {
        if (p.metadata.namespace === a.metadata.namespace && names.has(p.metadata.name)) out.set(uidOf(p), p);
      }
    }
    return [...out.values()];
  }

  /**
   * Plan every application with a member among `due`; the shares by policy uid. An invalid
   * application gives none (its members run as plain policies). Its status waits for settle().
   */
  async round(
    ports: ApplicationPorts,
    apps: readonly HeadroomApplication[],
    policies: readonly HeadroomPolicy[],
    due: readonly HeadroomPolicy[],
  ): Promise<Map<string, MemberShare>> {
    const shares = new Map<string, MemberShare>();
    const byName = new Map(policies.map((p) => [key(p.metadata.namespace, p.metadata.name), p]));
    const dueKeys = new Set(due.map((p) => key(p.metadata.namespace, p.metadata.name)));
    // One graph per policy: the first valid application (by namespace, name) to link it keeps it.
    // Every application is checked for its claims, due or not: the owner of a shared member is the
    // same every round, whichever members happen to be due.
    const claimed = new Map<string, string>();
    const sorted = [...apps].sort(
      (a, b) =>
        a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name),
    );
    this.#pending = [];
    const epoch = this.#epoch;
    const pending: Pending[] = [];
    for (const app of sorted) {
      const ns = app.metadata.namespace;
      const names = memberNames(app.spec);
      const isDue = names.some((n) => dueKeys.has(key(ns, n)));
      // A round runs every tick: an application with no due member reuses its last check while
      // nothing it depends on changed (its spec, its members' specs, the claims before it).
      const sig = JSON.stringify([
        app.metadata.generation ?? 0,
        names.map((n) => [byName.get(key(ns, n))?.metadata.generation ?? null, claimed.get(key(ns, n)) ?? null]),
      ]);
      const last = this.#checks.get(uidOf(app));
      if (!isDue && last?.sig === sig) {
        for (const n of last.claims) claimed.set(key(ns, n), app.metadata.name);
        continue;
      }
      const members = new Map<string, Member>();
      for (const n of names) {
        const p = byName.get(key(ns, n));
        if (p) members.set(n, { policy: p, model: await ports.model(p) });
      }
      const checked = applicationGraph(
        app,
        (n) => members.get(n),
        (n) => claimed.get(key(ns, n)),
      );
      const claims = 'graph' in checked ? checked.graph.members : [];
      for (const n of claims) claimed.set(key(ns, n), app.metadata.name);
      this.#checks.set(uidOf(app), { sig, claims });
      if (!isDue) continue;
      let r: ApplicationRound;
      if ('problems' in checked) r = { kind: 'invalid', problems: checked.problems };
      else {
        try {
          r = await planApplication(
            ports.metrics,
            checked.graph,
            (members.get(checked.graph.spec.entry) as Member).policy,
          );
        } catch (err) {
          // planGraph refuses what the checks let through only on a bug; say so rather than guess.
          const problems: ProblemDetail[] =
            err instanceof HeadroomError ? [...err.problems] : [{ code: 'HR_SPEC_INVALID', message: String(err) }];
          r = { kind: 'invalid', problems };
        }
        if (r.kind === 'planned') this.#views.set(uidOf(app), graphView(checked.graph.models, r.plan));
        for (const [n, share] of sharesOf(app, checked.graph, r)) {
          const p = members.get(n)?.policy;
          const model = checked.graph.models.find((m) => m.name === n);
          if (p && model) shares.set(uidOf(p), { share, model });
        }
      }
      if (r.kind === 'invalid') this.#views.delete(uidOf(app));
      this.#seen.set(uidOf(app), app.metadata.generation ?? 0);
      pending.push({ app, r, members: [...members.values()].map((m) => m.policy) });
    }
    // Leadership lost during the awaits (clear() ran): this round's work is not this controller's.
    if (epoch !== this.#epoch) {
      this.clear();
      return new Map();
    }
    this.#pending = pending;
    return shares;
  }

  /**
   * After the members' reconciles: each planned application's status, with the members that did
   * not apply their share (shadow mode, paused, yielding to another autoscaler, target unreadable,
   * invalid) named, and its problem logged when it starts, changes, ends and every 5 min.
   */
  async settle(ports: ApplicationPorts, nowMs: number): Promise<void> {
    const pending = this.#pending;
    this.#pending = [];
    for (const { app, r, members } of pending) {
      const idle = members.flatMap((p) => notApplying(p, ports.memberStatus ? ports.memberStatus(p) : p.status) ?? []);
      const status = applicationStatus(app, r, new Date(nowMs).toISOString(), idle);
      const ready = status.conditions?.find((c) => c.type === 'Ready');
      const uid = uidOf(app);
      const problem = ready?.status === 'False' ? `${ready.reason}: ${ready.message}` : undefined;
      const id = { namespace: app.metadata.namespace, application: app.metadata.name };
      const logged = logProblem(ports.log, id, 'application', problem, this.#logged.get(uid), nowMs);
      if (logged) this.#logged.set(uid, logged);
      else this.#logged.delete(uid);
      await this.#writeStatus(ports, app, status);
    }
  }

  async #writeStatus(ports: ApplicationPorts, app: HeadroomApplication, status: HeadroomApplication['status']) {
    const uid = uidOf(app);
    if (!status || sameApplicationStatus(this.#written.get(uid), status)) return;
    if (await ports.status.writeStatus(app.metadata, status)) this.#written.set(uid, status);
  }

  /** What the dashboard draws: the last plan of each application still listed. */
  views(apps: readonly HeadroomApplication[]): GraphView[] {
    return apps.flatMap((a) => this.#views.get(uidOf(a)) ?? []);
  }

  /** Forget everything (a change of leader: start again from what is persisted). */
  clear(): void {
    this.#written.clear();
    this.#seen.clear();
    this.#views.clear();
    this.#logged.clear();
    this.#checks.clear();
    this.#pending = [];
    this.#epoch++;
  }
}
