// The controller's HeadroomApplications between rounds: before the due policies are reconciled,
// each application with a due member is checked (application.ts) and planned at its entry's
// demand (application-round.ts); its members' shares go to their reconciles; its status is written
// when it changed; the plan is kept for the dashboard (GraphView).
import type { ServiceModel } from '../core/model.ts';
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';
import type { MetricsSource } from '../ports/metrics.ts';
import { graphView, type GraphView } from '../server/graph-view.ts';
import { applicationGraph, memberNames, type HeadroomApplication, type Member } from './application.ts';
import {
  applicationStatus,
  planApplication,
  sameApplicationStatus,
  sharesOf,
  type ApplicationRound,
  type GraphShare,
} from './application-round.ts';
import type { HeadroomPolicy } from './policy.ts';
import type { Logger } from './reconcile.ts';

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
  log: Logger;
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
   * application gives none (its members run as plain policies) and says why in its status.
   */
  async round(
    ports: ApplicationPorts,
    apps: readonly HeadroomApplication[],
    policies: readonly HeadroomPolicy[],
    due: readonly HeadroomPolicy[],
    nowMs: number,
  ): Promise<Map<string, MemberShare>> {
    const shares = new Map<string, MemberShare>();
    const byName = new Map(policies.map((p) => [key(p.metadata.namespace, p.metadata.name), p]));
    const dueKeys = new Set(due.map((p) => key(p.metadata.namespace, p.metadata.name)));
    // One graph per policy: the first application (by namespace, name) to link it keeps it.
    const claimed = new Map<string, string>();
    const sorted = [...apps].sort(
      (a, b) =>
        a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name),
    );
    for (const app of sorted) {
      const ns = app.metadata.namespace;
      const names = memberNames(app.spec);
      if (!names.some((n) => dueKeys.has(key(ns, n)))) continue;
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
      let r: ApplicationRound;
      if ('problems' in checked) r = { kind: 'invalid', problems: checked.problems };
      else {
        for (const n of checked.graph.members) claimed.set(key(ns, n), app.metadata.name);
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
      if (r.kind === 'invalid') {
        this.#views.delete(uidOf(app));
        ports.log.warn(
          { namespace: ns, application: app.metadata.name, problems: r.problems.length },
          'invalid application',
        );
      }
      this.#seen.set(uidOf(app), app.metadata.generation ?? 0);
      await this.#writeStatus(ports, app, applicationStatus(app, r, new Date(nowMs).toISOString()));
    }
    return shares;
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
  }
}
