// `headroom run GRAPH.yaml`: every service of a call graph as local processes, each behind its own
// balancer, scaled each round from the graph plan (src/local/graph.ts). Requests go to the entry's
// balancer (run.port); /api/status is the entry's, /api/services every member's and the graph.
// Traffic: none (send your own), --demo (the built-in pattern at --rate) or --traffic TRACE.csv.
// Alerts: the spec's alerts: section over every member, as for one service.
import { openState, stateText, StateKeeper } from '../local/state-file.ts';
import { dashboard } from '../server/dashboard/plugin.ts';
import { resolveToken, TOKEN_ENV } from '../server/dashboard/auth.ts';
import type { GraphRunConfig } from '../local/graph-config.ts';
import { LocalGraph } from '../local/graph.ts';
import { EventFollower, eventJson } from '../local/cluster-views.ts';
import { eventLine } from '../local/view.ts';
import {
  arrivalOptions,
  demoPattern,
  driveTraffic,
  tracePhases,
  traceCap,
  type Arrivals,
  type TrafficRun,
} from '../local/traffic.ts';
import type { Trace } from '../input/trace.ts';
import { startAlerting } from './run-alerts.ts';
import { RunLifetime } from './run-stop.ts';

export interface GraphRunFlags {
  demo?: boolean;
  duration?: number;
  rate?: number;
  json?: boolean;
  token?: string;
  allowWrite?: boolean;
  arrivals?: Arrivals;
  state?: string;
}

const f = (x: number | null | undefined, d = 0): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d);

/** One line per member and one for the end-to-end: what the plan asks and what runs. */
export function graphLines(g: LocalGraph): string[] {
  const plan = g.round?.plan;
  const m = g.measured();
  // What the measurement rests on: the burst window's few seconds hold tens of requests at a
  // graph's rates, and the p99 of fewer than 100 is their slowest.
  const over = m ? ` over the last ${f(m.windowSeconds)} s (${m.requests} requests)` : '';
  const lines = [
    `end-to-end at ${g.cfg.entry}: p${plan?.slo.percentile ?? 99} measured ${f(m?.ms, 1)} ms${over}, ` +
      `predicted ${f(g.predictedNowMs(), 1)} ms at the counts ready, SLO ${f(plan?.slo.latencyMs)} ms; ` +
      `entry demand ${f(g.round?.entryDemandRps, 1)} rps${g.planError ? ` (plan failed: ${g.planError})` : ''}`,
  ];
  for (const [name, c] of g.clusters) {
    const p = plan?.services.find((s) => s.name === name);
    const s = c.status();
    lines.push(
      `  ${name.padEnd(12)} ready ${s.replicas.ready}/${s.replicas.desired} (plan ${f(p?.replicas)}), ` +
        `${f(s.traffic.stable?.arrivalRps, 1)} rps, budget ${f(p?.budgetMs, 1)} ms, ` +
        `${s.decision ? `binding ${s.decision.binding}` : 'no decision yet'}`,
    );
  }
  return lines;
}

export async function runGraph(cfg: GraphRunConfig, flags: GraphRunFlags, trace?: Trace): Promise<void> {
  const out = process.stdout;
  const token = resolveToken(cfg.run.host, flags.token ?? cfg.run.token ?? process.env[TOKEN_ENV], {
    flag: flags.token !== undefined ? '--token' : 'run.token',
  });
  // Read before anything starts: a file that is not a state file exits 2 with nothing running.
  const state = openState(flags, cfg.run.stateFile);
  // One engine for the graph (the spec's alerts: section, or the built-in rules); delivery problems
  // are the entry's events.
  const live: { graph?: LocalGraph } = {};
  const alerting = startAlerting(cfg.alerts, { note: (m, w) => live.graph?.entry.supervisor.note('Alert', m, w) });
  const g = await LocalGraph.start(cfg, {
    alerting,
    ...(state?.saved ? { states: state.saved.services } : {}),
    plugins: (graph) => [
      dashboard({
        status: () => graph.statuses(),
        models: () => cfg.models,
        graphs: () => graph.views(),
        listenHost: cfg.run.host,
        token,
        allowWrite: flags.allowWrite === true,
        actions: {
          setShadow: (s, on) => (s ? graph.clusters.get(s)?.setShadow(on) : graph.setShadow(on)),
          setPaused: (s, on) => (s ? graph.clusters.get(s)?.setPaused(on) : graph.setPaused(on)),
        },
        title: `Headroom · ${cfg.entry} (call graph)`,
      }),
    ],
  });
  live.graph = g;
  const entry = g.entry;
  const names = cfg.models.map((m) => m.name);
  const keeper =
    state &&
    new StateKeeper(
      state.file,
      () => new Map([...g.clusters].map(([name, c]) => [name, c.loop.loopState])),
      state.saved,
      (m) => entry.supervisor.note('Decision', m, true),
    );
  keeper?.start();
  const json = flags.json === true;
  const emit = (o: Record<string, unknown>): void => void out.write(`${JSON.stringify(o)}\n`);
  if (json) {
    emit({
      type: 'started',
      entry: cfg.entry,
      url: entry.url,
      dashboard: `${entry.statusUrl}/`,
      statusApi: `${entry.statusUrl}/api/status`,
      servicesApi: `${entry.statusUrl}/api/services`,
      services: [...g.clusters].map(([name, c]) => ({ name, url: c.url })),
      tokenRequired: token !== undefined,
      ...(state ? { state: { file: state.file, restored: names.filter((n) => state.saved?.services.has(n)) } } : {}),
    });
  } else {
    out.write(
      `headroom run: call graph from ${cfg.entry} (${cfg.models.map((m) => m.name).join(', ')})\n` +
        `  send requests to  ${entry.url}\n` +
        `  dashboard         ${entry.statusUrl}/${token !== undefined ? '  (token required)' : ''}\n` +
        `  status API        ${entry.statusUrl}/api/status (entry), ${entry.statusUrl}/api/services (all)\n` +
        [...g.clusters].map(([name, c]) => `  ${name.padEnd(17)} ${c.url}\n`).join('') +
        (state ? `  state             ${stateText(state, names)}\n` : ''),
    );
  }
  const life = new RunLifetime();
  let traffic: TrafficRun | undefined;
  const phases = trace ? tracePhases(trace) : flags.demo ? demoPattern(flags.rate ?? 8) : undefined;
  if (phases) {
    traffic = driveTraffic(entry.url, phases, {
      ...(flags.duration !== undefined ? { durationSeconds: flags.duration } : {}),
      signal: life.signal,
      maxRequests: trace ? traceCap(trace, flags.duration, flags.arrivals) : 200_000,
      // Poisson at the entry by default, as the graph model assumes (M/G/c at every pool).
      ...arrivalOptions(flags.arrivals),
    });
    void traffic.done.then(() => life.end());
  }
  if (flags.duration !== undefined) life.endAfter(flags.duration);

  const started = performance.now();
  let ticks = 0;
  // Every service's events once, named by service: JSON lines, or log lines between the summaries.
  const events = new EventFollower([...g.clusters].map(([service, c]) => ({ service, supervisor: c.supervisor })));
  const flushEvents = (): void => {
    for (const { service, event } of events.next()) {
      if (json) emit(eventJson(event, service));
      else out.write(`${eventLine(event, service)}\n`);
    }
  };
  const draw = (): void => {
    const elapsed = Number(((performance.now() - started) / 1000).toFixed(3));
    flushEvents();
    if (json) {
      const plan = g.round?.plan;
      const measured = g.measured();
      emit({
        type: 'tick',
        elapsed,
        entryDemandRps: g.round?.entryDemandRps ?? null,
        measuredMs: measured?.ms ?? null,
        // What measuredMs rests on (the entry's burst window): added fields, the old ones unchanged.
        measuredRequests: measured?.requests ?? null,
        measuredWindowSeconds: measured?.windowSeconds ?? null,
        predictedMs: plan?.predictedMs ?? null,
        predictedNowMs: g.predictedNowMs(),
        services: [...g.clusters].map(([name, c]) => ({
          name,
          ready: c.supervisor.ready,
          desired: c.supervisor.desired,
          planned: plan?.services.find((s) => s.name === name)?.replicas ?? null,
          budgetMs: plan?.services.find((s) => s.name === name)?.budgetMs ?? null,
          demandRps: c.windows.stable()?.arrivalRps ?? null,
        })),
      });
    } else if (ticks++ % 5 === 0) out.write(`[${elapsed.toFixed(0)} s] ${graphLines(g).join('\n')}\n`);
  };
  const ticker = setInterval(draw, 1000);
  draw();
  await life.ended;
  clearInterval(ticker);
  const result = traffic ? await traffic.done : undefined;
  const final = g.statuses();
  if (json) emit({ type: 'stopping' });
  else out.write('\nstopping: draining every service, callers first …\n');
  await life.finish(() => g.stop(), cfg.run.killGraceSeconds);
  if (keeper?.stop()) {
    if (json) emit({ type: 'state', file: state?.file, saved: true });
    else out.write(`state saved to ${state?.file}\n`);
  }
  flushEvents();
  const seconds = Number(((performance.now() - started) / 1000).toFixed(3));
  const services = final.map((s) => ({
    name: s.service.name,
    requests: s.traffic.totals.requests,
    failed: s.traffic.totals.errors,
  }));
  if (json) {
    emit({
      type: 'done',
      seconds,
      services,
      ...(result
        ? { traffic: { sent: result.sent, ok: result.ok, errors: result.errors, dropped: result.dropped } }
        : {}),
    });
    return;
  }
  out.write(
    `done after ${seconds.toFixed(0)} s: ${services.map((s) => `${s.name} ${s.requests} requests (${s.failed} failed)`).join(', ')}` +
      `${result ? `; traffic sent ${result.sent}, ok ${result.ok}, errors ${result.errors}, dropped ${result.dropped}` : ''}\n`,
  );
}
