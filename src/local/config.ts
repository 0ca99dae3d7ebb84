// The `run:` section of a spec (same YAML family as `plan`), validated once with zod and frozen.
//
//   services: [ { name: web, instance: { serviceTimeMs: 100, concurrency: 4, cpu: 250m, memory: 128Mi }, ... } ]
//   run:
//     command: [node, service.ts]      # argv, never a shell string; relative to the spec's folder
//     env: { WORK_MS: 100 }
//     port: 8080                        # the load balancer (clients use this)
//     statusPort: 9470                  # /api/status and /metrics (9090 is Prometheus's)
//
// Every error names the file, line:column, key path, value and allowed range, as `plan` does; the
// spec's problems, the run: section's and the alerts: section's are reported together.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { checkAlertConfig, type AlertConfig } from '../alerting/config.ts';
import type { ServiceModel } from '../core/model.ts';
import { graphUnsupported } from '../input/graph-rules.ts';
import { checkSpec, readSpecSource } from '../input/load.ts';
import { readInputFile, SPEC_MAX_BYTES } from '../input/read.ts';
import { checkSchema, deepFreeze, throwProblems } from '../input/validate.ts';

const port = z.number().int().min(0).max(65535);
const envValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

/** Default ports of `headroom run`; src/cli/controller.ts picks ones that differ (a test checks). */
export const RUN_PORT = 8080;
export const RUN_STATUS_PORT = 9470;

export const runSectionSchema = z.strictObject({
  /** Which service of `services` to run; optional when there is one. */
  service: z.string().min(1).optional(),
  command: z.array(z.string().min(1)).min(1).max(1000),
  /** Working directory of the instances, relative to the spec file (default: its folder). */
  cwd: z.string().min(1).optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), envValue).optional(),
  healthPath: z.string().regex(/^\//, 'must start with /').default('/healthz'),
  /** Address the load balancer and status server listen on. */
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(RUN_PORT),
  // Not 9090: that is Prometheus's own port (and the controller's default --prometheus URL).
  statusPort: port.default(RUN_STATUS_PORT),
  /** Instances at start (default replicas.min, at least 1). */
  initialReplicas: z.number().int().min(1).max(10_000).optional(),
  startupTimeoutSeconds: z.number().positive().max(3600).default(30),
  drainTimeoutSeconds: z.number().min(0).max(3600).default(30),
  killGraceSeconds: z.number().min(0).max(600).default(10),
  /** An instance unready this long while its process is alive (frozen, hung) is killed and replaced. */
  unreadyTimeoutSeconds: z.number().positive().max(3600).default(10),
  /** Control-loop period: at most 1 s. */
  tickSeconds: z.number().min(0.05).max(1).default(1),
  /** Stable demand window (Knative: 60 s); the burst window is behavior.burst.windowSeconds. */
  stableWindowSeconds: z.number().min(1).max(3600).default(60),
  /** Decide and report, but do not scale. */
  shadow: z.boolean().default(false),
  /** spec: size with instance.serviceTimeMs/concurrency (or its profile); learned: from what the balancer measures. */
  capacity: z.enum(['spec', 'learned']).default('spec'),
  /** Check the latency model against measured latency each tick and correct its service-time scale. */
  calibrate: z.boolean().default(true),
  /** Half-life of the correction, s: shorter follows a bad release faster, and noise too. */
  calibrateHalfLifeSeconds: z.number().min(1).max(86_400).default(60),
  loadBalancing: z.enum(['leastRequests', 'random']).optional(),
  /**
   * Where requests wait when every instance is busy. balancer: an instance gets at most
   * instance.concurrency at once, the rest wait at the balancer for the first free slot (one queue,
   * M/G/(N·c), what the model assumes); instances (random's only choice): each request goes at once
   * and waits inside its instance. Default: defaultQueue().
   */
  queue: z.enum(['balancer', 'instances']).optional(),
  /** How long a request may wait for a ready instance before 503. */
  queueTimeoutSeconds: z.number().min(0).max(600).default(10),
  restartBackoff: z
    .strictObject({
      initialSeconds: z.number().min(0.01).max(600).default(1),
      maxSeconds: z.number().min(0.01).max(3600).default(30),
    })
    .optional(),
  /** Bearer token of the status server and dashboard (or env HEADROOM_TOKEN); required off loopback. */
  token: z.string().min(1).optional(),
  /** tail: keep the last lines of each instance for error messages; inherit: print them prefixed. */
  logs: z.enum(['tail', 'inherit']).default('tail'),
  /**
   * Where the loop's state is kept across restarts (stabilization, forecast history, calibration),
   * relative to the spec's folder (src/local/state-file.ts); none: in memory only.
   */
  stateFile: z.string().min(1).optional(),
});

export type RunSection = z.output<typeof runSectionSchema>;

/**
 * run.queue's default: the balancer holds requests when it balances leastRequests and the
 * instance's concurrency is known: written in the spec, or measured by `headroom loadtest` (its
 * steps reached the instance's throughput ceiling, and c = ceiling × service time). An unstated one
 * is the model's assumption of 1, and a profile that never saturated inferred its c from how latency
 * grew (or assumed 1 from a single step), and that c is only as good as the service time beside it:
 * 16 slots whose service time was read 20 % short fit c = 12, and a cap of 12 would idle a quarter
 * of the instance (docs/loadtest.md). A measured ceiling fixes c ÷ s whatever the split.
 */
export function defaultQueue(
  model: ServiceModel,
  written: { concurrency?: number | undefined } | undefined,
): 'balancer' | 'instances' {
  const known = written?.concurrency !== undefined || model.instance.profile?.concurrencyMeasured === true;
  return model.loadBalancing === 'leastRequests' && known ? 'balancer' : 'instances';
}

/**
 * The model `headroom run` sizes: its own balancer is how requests reach the instances (run's
 * loadBalancing, else the spec's), so nothing about it is assumed.
 */
export function localModel(
  model: ServiceModel,
  loadBalancing: ServiceModel['loadBalancing'] | undefined,
): ServiceModel {
  const { loadBalancingAssumed: _, ...rest } = model;
  return { ...rest, loadBalancing: loadBalancing ?? model.loadBalancing };
}

export interface RunConfig {
  file: string;
  model: ServiceModel;
  run: Readonly<RunSection> & { cwd: string };
  capacitySource: 'spec' | 'profile' | 'learned';
  /** The spec's `alerts:` section; the built-in default rules when absent. */
  alerts: AlertConfig;
}

/**
 * Load a spec with a `run:` section. Throws one HeadroomError with every problem of the file (spec,
 * run:, alerts:), each naming file, line:column, key, value and range.
 */
export function loadRunConfig(file: string): RunConfig {
  const source = readSpecSource(readInputFile(file, { what: 'the spec', maxBytes: SPEC_MAX_BYTES }), file);
  const { spec, problems } = checkSpec(source, dirname(resolve(file)));
  const data = source.data as { run?: unknown; alerts?: unknown; services?: unknown };
  const raw = data.run;
  if (raw === undefined) {
    problems.push({
      code: 'HR_SPEC_INVALID',
      file,
      path: 'run',
      message: '`headroom run` needs a run: section (at least run.command)',
      allowed: 'run: { command: [program, arg, ...], port: 8080, ... }',
    });
  }
  const run = raw === undefined ? undefined : checkSchema(runSectionSchema, raw, { file, path: 'run' }, problems);
  // The service names as written: the run: section is checked against them even when a service is wrong.
  const names = (Array.isArray(data.services) ? (data.services as Array<{ name?: unknown }>) : []).map((s) =>
    typeof s?.name === 'string' ? s.name : '',
  );
  let index = 0;
  if (run?.service !== undefined) {
    index = names.indexOf(run.service);
    if (index < 0) {
      problems.push({
        code: 'HR_SPEC_INVALID',
        file,
        path: 'run.service',
        value: run.service,
        message: 'no service of that name',
        allowed: `one of ${names.join(', ')}`,
      });
    }
  } else if (run && names.length > 1) {
    problems.push({
      code: 'HR_SPEC_INVALID',
      file,
      path: 'run.service',
      message: 'the spec has several services: name the one to run',
      allowed: `one of ${names.join(', ')}`,
    });
  }
  // Only when every service mapped: a service that failed leaves no model, and the indexes would shift.
  const model = spec?.services.length === names.length ? spec.services[index] : undefined;
  const graph = model && graphUnsupported(model, { file, path: `services[${index}]` }, '`headroom run`');
  // Without run.service, a spec with an end-to-end entry runs as a whole graph (graph-config.ts).
  if (graph) {
    problems.push({
      ...graph,
      message:
        'run.service runs one service on its own SLO; a service with calls or an end-to-end SLO runs with its whole graph: leave run.service out (docs/graph.md)',
    });
  }
  const backoff = run?.restartBackoff;
  if (backoff && backoff.maxSeconds < backoff.initialSeconds) {
    // Blame the key the user wrote: maxSeconds left out is its default (30), too low for this initial.
    const wroteMax =
      (raw as { restartBackoff?: { maxSeconds?: unknown } } | undefined)?.restartBackoff?.maxSeconds !== undefined;
    problems.push({
      code: 'HR_SPEC_INVALID',
      file,
      path: wroteMax ? 'run.restartBackoff.maxSeconds' : 'run.restartBackoff.initialSeconds',
      value: wroteMax ? backoff.maxSeconds : backoff.initialSeconds,
      message: wroteMax
        ? 'below restartBackoff.initialSeconds'
        : `above restartBackoff.maxSeconds (not given: ${backoff.maxSeconds} s by default); give maxSeconds too`,
      allowed: wroteMax ? `>= ${backoff.initialSeconds}` : `<= ${backoff.maxSeconds}`,
    });
  }
  if (run && run.port !== 0 && run.port === run.statusPort) {
    problems.push({
      code: 'HR_SPEC_INVALID',
      file,
      path: 'run.statusPort',
      value: run.statusPort,
      message: 'the same port as run.port',
      allowed: `a port other than ${run.port}`,
    });
  }
  // Started as asked or refused: 20 silently started as replicas.max 4 read as a bug.
  const range = model?.replicas;
  if (run?.initialReplicas !== undefined && range && run.initialReplicas > range.max) {
    problems.push({
      code: 'HR_SPEC_INVALID',
      file,
      path: 'run.initialReplicas',
      value: run.initialReplicas,
      message: `above the service's replicas.max (${range.max})`,
      allowed: `1 to ${range.max}`,
    });
  }
  if (run?.queue === 'balancer' && (run.loadBalancing ?? model?.loadBalancing) === 'random') {
    problems.push({
      code: 'HR_SPEC_INVALID',
      file,
      path: 'run.queue',
      value: run.queue,
      message: 'a random balancer sends each request at once (kube-proxy): it has no queue of its own',
      allowed: 'instances, or loadBalancing: leastRequests',
    });
  }
  const alerts = checkAlertConfig(data.alerts, file);
  problems.push(...alerts.problems);
  throwProblems(problems, source);
  if (!run || !model || !spec || !alerts.config) throw new Error('unreachable: no problems, but nothing loaded');
  const baseDir = dirname(resolve(file));
  const effective = localModel(model, run.loadBalancing);
  const written = spec.raw.services[index]?.instance;
  const fromProfile = written?.profile !== undefined;
  // `node` means the Node.js running Headroom (24+, runs .ts files), not whatever `node` is on PATH.
  const command = run.command[0] === 'node' ? [process.execPath, ...run.command.slice(1)] : run.command;
  deepFreeze(spec);
  return {
    file,
    model: effective,
    run: Object.freeze({
      ...run,
      command,
      cwd: resolve(baseDir, run.cwd ?? '.'),
      ...(run.stateFile !== undefined ? { stateFile: resolve(baseDir, run.stateFile) } : {}),
      queue: run.queue ?? defaultQueue(effective, written),
    }),
    capacitySource: run.capacity === 'learned' ? 'learned' : fromProfile ? 'profile' : 'spec',
    alerts: alerts.config,
  };
}
