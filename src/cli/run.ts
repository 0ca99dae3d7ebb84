// `headroom run SPEC.yaml`: run the spec's service as N local processes behind one load balancer
// and keep N right with the same core as `plan`. `headroom run --demo` (`npm start`): the example
// service under a built-in traffic pattern (steps and a wave, ~3 minutes), then exit 0.
// `--traffic TRACE.csv` drives the same open-loop traffic from a trace instead (the file
// `headroom simulate` reads), with or without --demo, and stops when the trace ends.
import { Option, type Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { openState, stateText, StateKeeper } from '../local/state-file.ts';
import { HeadroomError } from '../core/errors.ts';
import { LocalCluster } from '../local/cluster.ts';
import { dashboard } from '../server/dashboard/plugin.ts';
import { resolveToken, TOKEN_ENV } from '../server/dashboard/auth.ts';
import type { RunConfig } from '../local/config.ts';
import { loadRunOrGraph } from '../local/graph-config.ts';
import { runGraph } from './run-graph.ts';
import {
  ARRIVALS,
  arrivalOptions,
  demoPattern,
  driveTraffic,
  patternSeconds,
  tracePhases,
  traceCap,
  type Arrivals,
  type TrafficRun,
} from '../local/traffic.ts';
import { loadTraceFile, rescaleToPeak, tracePeak, warningLines, type Trace } from '../input/trace.ts';
import { EventFollower, eventJson } from '../local/cluster-views.ts';
import { eventLine, LiveView } from '../local/view.ts';
import { count } from '../core/plan-explain.ts';
import { numberFlag, usageError } from './flags.ts';
import { startAlerting } from './run-alerts.ts';
import { RunLifetime } from './run-stop.ts';

export const DEMO_SPEC = fileURLToPath(new URL('../../examples/run.yaml', import.meta.url));

interface RunFlags {
  demo?: boolean;
  duration?: number;
  port?: number;
  statusPort?: number;
  host?: string;
  shadow?: boolean;
  rate?: number;
  live?: boolean;
  token?: string;
  allowWrite?: boolean;
  traffic?: string;
  peak?: number;
  arrivals?: Arrivals;
  json?: boolean;
  state?: string;
}

function number(flag: string, min: number, max: number, int: boolean): (raw: string) => number {
  return numberFlag(flag, { min, max, int });
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run a service as N local processes behind one load balancer, autoscaled live')
    .argument('[spec]', 'spec file (YAML/JSON) with services and a run: section')
    .option('--demo', 'run the example service under a built-in traffic pattern (~3 min), then exit')
    .option('--duration <seconds>', 'stop after this many seconds', number('--duration', 1, 7 * 86400, false))
    .option(
      '--port <port>',
      'load balancer port (overrides run.port; 0 = any free port)',
      number('--port', 0, 65535, true),
    )
    .option(
      '--status-port <port>',
      'status server port for /api/status and /metrics (overrides run.statusPort)',
      number('--status-port', 0, 65535, true),
    )
    .option('--host <address>', 'listen address (overrides run.host)')
    .option('--shadow', 'decide and report, but do not scale')
    .option('--rate <rps>', 'demo: base request rate of the traffic pattern', number('--rate', 1, 10_000, false), 40)
    .option(
      '--traffic <file>',
      'drive open-loop traffic from a trace CSV `t_seconds,rps` (as `simulate` reads it); stops when it ends',
    )
    .option(
      '--peak <rps>',
      'with --traffic: rescale the trace so its maximum is this',
      number('--peak', 0.01, 1e5, false),
    )
    .addOption(
      new Option(
        '--arrivals <kind>',
        'with --traffic or --demo: poisson (exponential gaps, seeded: what the queueing model assumes) or even (evenly spread, queues less)',
      )
        .choices(ARRIVALS)
        .default(ARRIVALS[0]),
    )
    .option('--no-live', 'plain log lines even on a terminal')
    .option(
      '--json',
      'JSON lines on stdout instead of the live view: started, traffic, tick (every second), event, done',
    )
    .option('--token <token>', `bearer token for the status server and dashboard (or run.token, or ${TOKEN_ENV})`)
    .option('--allow-write', 'let the dashboard switch shadow mode and pause the loop (default read-only)')
    .option(
      '--state <file>',
      "keep the loop's state (stabilization, forecast history, calibration) in this file across restarts (overrides run.stateFile)",
    )
    .addHelpText(
      'after',
      `
Examples:
  headroom run --demo                    # npm start: the example service, autoscaled under a traffic pattern
  headroom run examples/run.yaml         # run until Ctrl-C; send requests to run.port
  headroom run examples/graph-run.yaml --demo   # a call graph: every service, one end-to-end SLO
  headroom run app.yaml --shadow         # decide and report, do not scale
  headroom run app.yaml --traffic day.csv --peak 600   # replay a trace against it, then exit
  headroom run app.yaml --json | jq -c 'select(.type == "event")'   # the log, for scripts`,
    )
    .action(async (spec: string | undefined, flags: RunFlags, cmd: Command) => {
      if (spec === undefined && !flags.demo) {
        throw new HeadroomError({
          code: 'HR_USAGE',
          message: 'headroom run needs a spec file, or --demo',
          allowed: 'headroom run SPEC.yaml | headroom run --demo',
        });
      }
      if (flags.peak !== undefined && flags.traffic === undefined) {
        throw new HeadroomError({
          code: 'HR_USAGE',
          path: '--peak',
          value: flags.peak,
          message: '--peak rescales a trace: it needs --traffic FILE',
        });
      }
      if (cmd.getOptionValueSource('arrivals') === 'cli' && flags.traffic === undefined && !flags.demo) {
        throw new HeadroomError({
          code: 'HR_USAGE',
          path: '--arrivals',
          value: flags.arrivals,
          message: '--arrivals spaces the requests headroom sends: it needs --traffic FILE or --demo',
        });
      }
      if (flags.traffic !== undefined && cmd.getOptionValueSource('rate') === 'cli') {
        throw new HeadroomError({
          code: 'HR_USAGE',
          path: '--rate',
          message: '--rate sets the built-in pattern, which --traffic replaces: use --peak to scale a trace',
        });
      }
      const loaded = loadRunOrGraph(spec ?? DEMO_SPEC);
      // Read the trace before anything starts: a bad file exits 2 with nothing running.
      const trace = flags.traffic !== undefined ? loadTrace(flags.traffic, flags.peak) : undefined;
      if (loaded.kind === 'graph') {
        // A graph's demo pattern starts at 8 rps at the entry (its calls multiply it: 48 rps at the peak
        // is 264 calls/s behind it in examples/graph-run.yaml).
        const rate = cmd.getOptionValueSource('rate') === 'cli' ? flags.rate : 8;
        await runGraph(applyFlags(loaded.cfg, flags), { ...flags, rate }, trace);
      } else await runLocal(applyFlags(loaded.cfg, flags), flags, trace);
      // Never hang after "done": whatever still holds the event loop (a pipe a service's escaped
      // helper keeps open, a stuck socket) gets 2 s, then the process exits. unref: a clean run
      // exits at once, as before.
      setTimeout(() => process.exit(), 2000).unref();
    });
}

const arrivalText = (a: Arrivals): string => (a === 'even' ? 'evenly spread' : 'Poisson arrivals');

/**
 * The trace of --traffic (HR_FILE_READ / HR_TRACE_INVALID as `simulate` reports them), rescaled by
 * --peak (HR_USAGE on an all-zero trace); its warnings (gaps, a counter) on stderr as `simulate` prints them.
 */
function loadTrace(file: string, peak: number | undefined): Trace {
  const loaded = loadTraceFile(file);
  const trace = peak !== undefined ? rescaleToPeak(loaded, peak) : loaded;
  process.stderr.write(warningLines(trace.warnings));
  return trace;
}

function applyFlags<C extends { run: Pick<RunConfig['run'], 'port' | 'statusPort' | 'host' | 'shadow'> }>(
  cfg: C,
  f: RunFlags,
): C {
  // The file's check (run.statusPort: the same port as run.port) for what the flags make of it.
  const port = f.port ?? cfg.run.port;
  const statusPort = f.statusPort ?? cfg.run.statusPort;
  if ((f.port !== undefined || f.statusPort !== undefined) && port !== 0 && port === statusPort) {
    const flag = f.statusPort !== undefined ? '--status-port' : '--port';
    throw usageError(
      flag,
      String(f.statusPort ?? f.port),
      `the same port as ${flag === '--port' ? 'run.statusPort' : f.port !== undefined ? '--port' : 'run.port'}`,
      `a port other than ${port}`,
    );
  }
  return {
    ...cfg,
    run: {
      ...cfg.run,
      ...(f.port !== undefined ? { port: f.port } : {}),
      ...(f.statusPort !== undefined ? { statusPort: f.statusPort } : {}),
      ...(f.host !== undefined ? { host: f.host } : {}),
      ...(f.shadow ? { shadow: true } : {}),
      ...(f.token !== undefined ? { token: f.token } : {}),
    },
  };
}

async function runLocal(cfg: RunConfig, flags: RunFlags, trace?: Trace): Promise<void> {
  const out = process.stdout;
  // Check the token before anything starts: off loopback without one is refused (HR_TOKEN_REQUIRED).
  const token = resolveToken(cfg.run.host, flags.token ?? cfg.run.token ?? process.env[TOKEN_ENV], {
    flag: flags.token !== undefined ? '--token' : 'run.token',
  });
  // Read before anything starts: a file that is not a state file exits 2 with nothing running.
  const state = openState(flags, cfg.run.stateFile);
  const restored = state?.saved?.services.get(cfg.model.name);
  const live: { cluster?: LocalCluster } = {};
  const alerting = startAlerting(cfg.alerts, { note: (m, w) => live.cluster?.supervisor.note('Alert', m, w) });
  const cluster = await LocalCluster.start({
    model: cfg.model,
    run: cfg.run,
    capacitySource: cfg.capacitySource,
    alerting,
    ...(restored ? { initialState: restored } : {}),
    plugins: (c) => [
      dashboard({
        status: () => c.status(),
        models: () => [c.model],
        listenHost: cfg.run.host,
        token,
        allowWrite: flags.allowWrite === true,
        actions: { setShadow: (_s, on) => c.setShadow(on), setPaused: (_s, on) => c.setPaused(on) },
        title: `Headroom · ${cfg.model.name}`,
      }),
    ],
  }).catch(async (err: unknown) => {
    await alerting.close();
    throw err;
  });
  live.cluster = cluster;
  const keeper =
    state &&
    new StateKeeper(
      state.file,
      () => new Map([[cfg.model.name, cluster.loop.loopState]]),
      state.saved,
      (m) => cluster.supervisor.note('Decision', m, true),
    );
  keeper?.start();
  // --json: one object per line, for scripts and tests (nothing scrapes the human view).
  const json = flags.json === true;
  const emit = (o: Record<string, unknown>): void => void out.write(`${JSON.stringify(o)}\n`);
  if (json) {
    emit({
      type: 'started',
      service: cfg.model.name,
      command: cfg.run.command,
      url: cluster.url,
      dashboard: `${cluster.statusUrl}/`,
      statusApi: `${cluster.statusUrl}/api/status`,
      metrics: `${cluster.statusUrl}/metrics`,
      tokenRequired: token !== undefined,
      queue: cluster.balancer.queue,
      ...(state ? { state: { file: state.file, restored: restored ? [cfg.model.name] : [] } } : {}),
    });
  } else {
    out.write(
      `headroom run: ${cfg.model.name} (${cfg.run.command.join(' ')})\n` +
        `  send requests to  ${cluster.url}\n` +
        `  dashboard         ${cluster.statusUrl}/${token !== undefined ? '  (token required)' : ''}\n` +
        `  status API        ${cluster.statusUrl}/api/status\n` +
        `  Prometheus        ${cluster.statusUrl}/metrics\n` +
        // Where a request waits when every instance is busy (run.queue, docs/local-cluster.md).
        (cluster.balancer.holds
          ? `  requests wait at  the balancer for a free slot (≤ ${cfg.model.instance.concurrency} per instance)\n`
          : `  requests wait in  the instances (sent at once, ${cfg.model.loadBalancing})\n`) +
        (state ? `  state             ${stateText(state, [cfg.model.name])}\n` : ''),
    );
  }
  const life = new RunLifetime();

  let traffic: TrafficRun | undefined;
  let total: number | undefined = flags.duration;
  const arrivals = flags.arrivals ?? ARRIVALS[0];
  if (trace) {
    const seconds = trace.rps.length;
    const phases = tracePhases(trace);
    const sending = Math.min(seconds, flags.duration ?? Infinity);
    total = flags.duration ?? seconds;
    let sum = 0;
    for (const v of trace.rps) sum += v;
    if (json) {
      emit({
        type: 'traffic',
        trace: trace.source,
        seconds,
        rowSeconds: trace.rowSeconds,
        peakRps: tracePeak(trace),
        meanRps: sum / seconds,
        ...(trace.warnings?.length ? { warnings: trace.warnings } : {}),
        arrivals,
        ...(flags.duration !== undefined ? { stopAfterSeconds: flags.duration } : {}),
      });
    } else {
      out.write(
        `  traffic           trace ${trace.source}: ${seconds} s (a row every ${trace.rowSeconds} s), ` +
          `peak ${tracePeak(trace).toFixed(1)} rps, mean ${(sum / seconds).toFixed(1)} rps, ${arrivalText(arrivals)}` +
          `${flags.duration !== undefined ? `; stop after ${flags.duration} s` : ''}\n\n`,
      );
    }
    traffic = driveTraffic(cluster.url, phases, {
      durationSeconds: sending,
      signal: life.signal,
      // Never (much) more than the trace asks for.
      maxRequests: traceCap(trace, sending, arrivals),
      ...arrivalOptions(arrivals),
    });
    // The run ends with the trace, unless --duration asks for longer (e.g. to watch scale-down).
    if (flags.duration !== undefined && flags.duration > seconds) {
      life.endAfter(flags.duration);
    } else void traffic.done.then(() => life.end());
  } else if (flags.demo) {
    const phases = demoPattern(flags.rate ?? 40);
    total = Math.min(patternSeconds(phases), flags.duration ?? Infinity);
    if (json) {
      emit({ type: 'traffic', phases: phases.map((p) => ({ name: p.name, seconds: p.seconds })), arrivals });
    } else
      out.write(
        `  traffic           ${phases.map((p) => `${p.name} (${p.seconds} s)`).join(' → ')}, ${arrivalText(arrivals)}\n\n`,
      );
    traffic = driveTraffic(cluster.url, phases, {
      ...(flags.duration !== undefined ? { durationSeconds: flags.duration } : {}),
      signal: life.signal,
      maxRequests: 200_000,
      ...arrivalOptions(arrivals),
    });
    void traffic.done.then(() => life.end());
  } else if (total !== undefined) {
    life.endAfter(total);
  }

  const view = json ? undefined : new LiveView(out, { tty: flags.live !== false, plainEverySeconds: 5 });
  const started = performance.now();
  let maxReady = 0;
  // Each event once: a JSON line, or a log line when the output is not a live view (a crash, a
  // restart or a scaling decision would otherwise reach a log file only as a count changing).
  const events = new EventFollower([{ supervisor: cluster.supervisor }]);
  const flushEvents = (): void => {
    for (const { event } of events.next()) {
      if (json) emit(eventJson(event));
      else out.write(`${eventLine(event)}\n`);
    }
  };
  const draw = (): void => {
    const s = cluster.status();
    maxReady = Math.max(maxReady, s.replicas.ready);
    const p = traffic?.progress;
    const elapsed = (performance.now() - started) / 1000;
    if (view) {
      // The events first: they happened before the line that sums up the state they led to.
      if (!view.tty) flushEvents();
      view.update(s, {
        ...(p?.phase !== undefined ? { phase: p.phase, targetRps: p.rps } : {}),
        elapsed,
        ...(total !== undefined ? { total } : {}),
      });
      return;
    }
    flushEvents();
    const d = s.decision;
    emit({
      type: 'tick',
      elapsed: Number(elapsed.toFixed(3)),
      ...(p?.phase !== undefined ? { phase: p.phase, targetRps: p.rps } : {}),
      demandRps: s.traffic.stable?.arrivalRps ?? null,
      burstRps: s.traffic.burst?.arrivalRps ?? null,
      p99Ms: s.traffic.burst?.latencyMs?.p99 ?? null,
      inFlight: s.traffic.inFlight,
      ready: s.replicas.ready,
      current: s.replicas.current,
      desired: s.replicas.desired,
      ...(d
        ? {
            decision: {
              mode: d.mode,
              desired: d.desired,
              recommended: d.recommended,
              binding: d.binding,
              valid: d.valid,
            },
          }
        : {}),
    });
  };
  const ticker = setInterval(draw, view?.tty ? 500 : 1000);
  draw();

  await life.ended;
  clearInterval(ticker);
  draw();
  const result = traffic ? await traffic.done : undefined;
  const final = cluster.status();
  if (json) emit({ type: 'stopping' });
  else out.write('\nstopping: draining instances …\n');
  await life.finish(() => cluster.stop(), cfg.run.killGraceSeconds);
  // After the loop stopped: the last decision's state is the one kept.
  if (keeper?.stop()) {
    if (json) emit({ type: 'state', file: state?.file, saved: true });
    else out.write(`state saved to ${state?.file}\n`);
  }
  const scaled = final.events.filter((e) => e.type === 'Decision').length;
  if (!view?.tty) flushEvents();
  if (json) {
    emit({
      type: 'done',
      seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
      requests: final.traffic.totals.requests,
      failed: final.traffic.totals.errors,
      maxReady,
      decisionsApplied: scaled,
      ...(result
        ? { traffic: { sent: result.sent, ok: result.ok, errors: result.errors, dropped: result.dropped } }
        : {}),
    });
    return;
  }
  out.write(
    `done after ${((performance.now() - started) / 1000).toFixed(0)} s: ${final.traffic.totals.requests} requests through the balancer, ` +
      `${final.traffic.totals.errors} failed; up to ${count(maxReady, 'ready instance')}; ${count(scaled, 'scaling decision')} applied` +
      `${result ? `; traffic sent ${result.sent}, ok ${result.ok}, errors ${result.errors}, dropped ${result.dropped}` : ''}\n`,
  );
}
