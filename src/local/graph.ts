// Local mode for a call graph (docs/graph.md): one LocalCluster per service (its own supervisor,
// balancer and loop), callees first so each caller starts knowing its callees' balancer URLs (the
// example service's CALLS). Each round the graph is planned at the entry's measured stable demand
// (planGraph) and every member's loop step gets its share of the end-to-end SLO (Observation.budget):
// the same step and decide() as one service, no second decider.
//
//   client ─▶ gateway balancer ─▶ gateway i1…iN ─CALLS─▶ cart balancer ─▶ cart i1…iM ─▶ db balancer …
//                 │ measured end-to-end                        │                         │
//   each round: planGraph(entryDemandRps = gateway's stable rate) ─▶ budget per member ─▶ its loop
//
// No demand measured at the entry (no data): the last plan's budgets stand; a member's own decide
// never scales down without its own valid data either (src/loop/step.ts guard).
import type { LoopState } from '../loop/step.ts';
import type { FastifyPluginAsync } from 'fastify';
import type { Alerting } from '../alerting/runtime.ts';
import { measuredAt } from '../adapters/metrics/proxy/windows.ts';
import { planGraph, predictGraph, type GraphPlan } from '../core/graph.ts';
import type { EndToEndBudget } from '../core/plan.ts';
import { graphView, type GraphView } from '../server/graph-view.ts';
import type { LocalStatusSnapshot } from '../server/status.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import { LocalCluster } from './cluster.ts';
import { GraphPlanner } from './graph-planner.ts';
import { HeadroomError } from '../core/errors.ts';
import type { RunConfig } from './config.ts';
import type { GraphRunConfig } from './graph-config.ts';

export interface LocalGraphOptions {
  /** Dashboard and other routes on the entry's status server (run.statusPort). */
  plugins?: (g: LocalGraph) => FastifyPluginAsync[];
  /** Default: systemClock (every member gets the same one). */
  clock?: Clock;
  /**
   * One alert engine for every member (docs/alerts.md): each member's loop ticks it with its own
   * snapshot (a service absent from a tick holds), so a route groups across services as the
   * controller's does. The graph closes it after the last member stops.
   */
  alerting?: Alerting;
  /** Each member's loop state from before a restart, by service name (run.stateFile). */
  states?: ReadonlyMap<string, LoopState>;
}

/** One round: the plan at the measured entry demand, and when it was made. */
export interface GraphRound {
  /** The entry demand it was planned for (the spec's until the entry measures one). */
  entryDemandRps: number;
  plan: GraphPlan;
  /** Seconds since the epoch. */
  at: number;
}

export class LocalGraph {
  readonly cfg: GraphRunConfig;
  /** Callees first, the entry last. */
  readonly clusters = new Map<string, LocalCluster>();
  round?: GraphRound;
  /** The last planning failure (the previous round's budgets stand). */
  planError?: string;
  private timer?: NodeJS.Timeout;
  private readonly planner = new GraphPlanner();
  private stopping?: Promise<void>;

  private readonly clock: Clock;
  private readonly alerting: Alerting | undefined;
  private predictedNow?: { key: string; ms: number | null };

  private constructor(cfg: GraphRunConfig, clock: Clock, alerting: Alerting | undefined) {
    this.cfg = cfg;
    this.clock = clock;
    this.alerting = alerting;
  }

  get entry(): LocalCluster {
    return this.clusters.get(this.cfg.entry) as LocalCluster;
  }

  /**
   * Start every member in two passes, callees first in each. First every balancer and status server
   * listens (a caller's CALLS needs its callees' URLs): a fixed port in use (run.port,
   * run.statusPort, run.services.NAME.port) fails with HR_PORT_IN_USE before any instance of any
   * member is started. Then each member's instances. On failure stop what started and rethrow, the
   * error naming the member (memberError).
   */
  static async start(cfg: GraphRunConfig, opts: LocalGraphOptions = {}): Promise<LocalGraph> {
    const g = new LocalGraph(cfg, opts.clock ?? systemClock, opts.alerting);
    // Members tick the shared engine; only the graph closes it (after the last member stopped).
    const shared = opts.alerting && { ...opts.alerting, close: () => Promise.resolve() };
    const entryModel = cfg.models.find((m) => m.name === cfg.entry);
    // The spec's demand (if any) plans the initial counts: the run starts where `plan` says.
    if (entryModel?.demandRps !== undefined) g.replanAt(entryModel.demandRps, g.clock.now());
    let member = '';
    try {
      for (const model of cfg.models) {
        member = model.name;
        const run = cfg.members.get(model.name) as RunConfig['run'];
        const calls = (model.calls ?? []).map((c) => ({
          url: (g.clusters.get(c.service) as LocalCluster).url,
          perRequest: c.perRequest,
          mode: c.mode,
        }));
        const planned = g.round?.plan.services.find((s) => s.name === model.name)?.replicas;
        const initial = run.initialReplicas ?? planned;
        const cluster = await LocalCluster.listen({
          model,
          run: {
            ...run,
            ...(calls.length > 0 ? { env: { ...run.env, CALLS: JSON.stringify(calls) } } : {}),
            ...(initial !== undefined ? { initialReplicas: Math.max(1, initial) } : {}),
            // Flags change the shared section: the entry's address, and shadow for every member.
            ...(model.name === cfg.entry
              ? { host: cfg.run.host, port: cfg.run.port, statusPort: cfg.run.statusPort }
              : {}),
            shadow: cfg.run.shadow || run.shadow,
          },
          capacitySource: 'spec',
          clock: g.clock,
          ...(shared ? { alerting: shared } : {}),
          budget: () => g.budgetOf(model.name),
          ...(opts.states?.get(model.name) ? { initialState: opts.states.get(model.name) as LoopState } : {}),
          ...(model.name === cfg.entry && opts.plugins ? { plugins: () => opts.plugins?.(g) ?? [] } : {}),
        });
        g.clusters.set(model.name, cluster);
      }
      for (const [name, cluster] of g.clusters) {
        member = name;
        await cluster.startInstances();
      }
    } catch (err) {
      await g.stop();
      throw memberError(err, cfg, member);
    }
    g.timer = setInterval(() => g.replan(), cfg.run.tickSeconds * 1000);
    return g;
  }

  /**
   * A round: plan at the entry's measured stable demand (in the worker); no measurement keeps the
   * last plan, and so does a demand within 2 % of the last plan's (the window's noise at 40 rps
   * over 30 s is ~3 %; a 2 % change moves no count).
   */
  replan(): void {
    const demand = this.entry.windows.stable()?.arrivalRps;
    if (demand === undefined || !Number.isFinite(demand) || demand < 0) return;
    const last = this.round?.entryDemandRps;
    if (last !== undefined && Math.abs(demand - last) <= 0.02 * Math.max(last, 1)) return;
    const at = this.clock.now();
    this.planner
      .plan({ models: this.cfg.models, entry: this.cfg.entry, entryDemandRps: demand })
      .then((plan) => {
        if (!plan || this.stopping) return;
        this.round = { entryDemandRps: demand, plan, at };
        this.planError = undefined;
      })
      .catch((err: unknown) => {
        this.planError = err instanceof Error ? err.message : String(err);
      });
  }

  private replanAt(entryDemandRps: number, at: number): void {
    try {
      const plan = planGraph(this.cfg.models, { entry: this.cfg.entry, entryDemandRps });
      this.round = { entryDemandRps, plan, at };
      this.planError = undefined;
    } catch (err) {
      this.planError = err instanceof Error ? err.message : String(err);
    }
  }

  budgetOf(name: string): EndToEndBudget | undefined {
    return this.round?.plan.services.find((s) => s.name === name)?.budget;
  }

  /** The entry's end-to-end latency at the SLO percentile over the burst window (null: no requests). */
  measuredMs(): number | null {
    return this.measured()?.ms ?? null;
  }

  /**
   * measuredMs with what it rests on: the requests answered in the burst window and the seconds of
   * data in it (6 s once running). At 20 rps that is ~120 requests, so the p99 is about the
   * window's slowest answer, not a tail estimate; the text output says so.
   */
  measured(): { ms: number; requests: number; windowSeconds: number } | null {
    const burst = this.entry.windows.burst();
    const lat = burst?.latency;
    if (!burst || !lat) return null;
    const pct = this.round?.plan.slo.percentile ?? 99;
    return { ms: measuredAt(lat, pct).ms, requests: lat.count, windowSeconds: burst.seconds };
  }

  /**
   * The model's end-to-end prediction at the counts ready now and the measured entry demand. Kept
   * until either changes: it costs ~2 ms on the event loop every balancer shares, and the view line,
   * the --json tick and each dashboard push all ask for it every second.
   */
  predictedNowMs(): number | null {
    const r = this.round;
    if (!r) return null;
    const counts: Record<string, number> = {};
    for (const [n, c] of this.clusters) counts[n] = c.supervisor.ready;
    const key = JSON.stringify([r.entryDemandRps, counts]);
    if (this.predictedNow?.key !== key) {
      const p = predictGraph(this.cfg.models, counts, { entry: this.cfg.entry, entryDemandRps: r.entryDemandRps });
      this.predictedNow = { key, ms: p.predictedMs };
    }
    return this.predictedNow.ms;
  }

  statuses(): LocalStatusSnapshot[] {
    return [...this.clusters.values()].map((c) => c.status());
  }

  /**
   * What the dashboard draws: the plan, the counts the loops set, the measured end-to-end and the
   * prediction at the counts ready (the measurement's like-for-like).
   */
  views(): GraphView[] {
    const r = this.round;
    if (!r) return [];
    const replicas: Record<string, number> = {};
    const ready: Record<string, number> = {};
    const binding: Record<string, string> = {};
    for (const [n, c] of this.clusters) {
      replicas[n] = c.supervisor.desired;
      ready[n] = c.supervisor.ready;
      const b = c.loop.last?.decision.binding;
      if (b !== undefined) binding[n] = b;
    }
    return [
      graphView(this.cfg.models, r.plan, {
        replicas,
        ready,
        binding,
        measuredMs: this.measuredMs(),
        predictedNowMs: this.predictedNowMs(),
      }),
    ];
  }

  setShadow(on: boolean): void {
    for (const c of this.clusters.values()) c.setShadow(on);
  }

  setPaused(on: boolean): void {
    for (const c of this.clusters.values()) c.setPaused(on);
  }

  /** Stop the rounds, then the members callers first (a caller drains before its callees go). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      await this.planner.close();
      for (const c of [...this.clusters.values()].reverse()) await c.stop();
      await this.alerting?.close();
    })();
    return this.stopping;
  }
}

/**
 * A member's start error as the graph's: the message names the service, and a key that is the
 * member's own is its run.services entry (a callee's balancer port; the command, when the member
 * has its own), so `HR_HEALTH_CHECK_FAILED run.services.db.command: service db: …` says which of
 * the services failed and where to fix it. Keys shared by every member (run.healthPath, the
 * entry's ports) stay as they are.
 */
export function memberError(err: unknown, cfg: GraphRunConfig, member: string): unknown {
  if (!(err instanceof HeadroomError) || member === '') return err;
  const own = cfg.run.services?.[member];
  const isEntry = member === cfg.entry;
  const key = (path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    if (path === 'run.port' && !isEntry) return `run.services.${member}.port`;
    if (path.startsWith('run.command') && own?.command !== undefined) return `run.services.${member}${path.slice(3)}`;
    return path;
  };
  return new HeadroomError(
    err.problems.map((p) => {
      const path = key(p.path);
      return { ...p, ...(path !== undefined ? { path } : {}), message: `service ${member}: ${p.message}` };
    }),
  );
}
