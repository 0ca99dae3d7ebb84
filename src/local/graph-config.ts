// The `run:` section of a call-graph spec (docs/graph.md): `headroom run` starts EVERY service the
// entry reaches, each as its own local cluster (supervisor + balancer + loop), the callers told
// their callees' balancer URLs through the example service's CALLS setting.
//
//   run:
//     command: [node, service.ts]                      # shared defaults, as for one service
//     env: { WORK_MODE: sleep, WORK_DIST: exponential }
//     port: 8080                                       # the entry's balancer: send requests here
//     statusPort: 9470                                 # /api/status (the entry), /api/services (all)
//     services:                                        # per service, over the defaults
//       gateway: { env: { WORK_MS: 5, CONCURRENCY: 4 } }
//       cart: { env: { WORK_MS: 8 }, port: 8081 }      # callees' balancers: a free port unless given
//
// One zod pass over the whole section, then the cross-checks; every problem is reported together.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { checkAlertConfig } from '../alerting/config.ts';
import { calleesFirst } from '../core/call-graph.ts';
import type { ServiceModel } from '../core/model.ts';
import { checkSpec, readSpecSource } from '../input/load.ts';
import { readInputFile, SPEC_MAX_BYTES } from '../input/read.ts';
import { checkSchema, deepFreeze, throwProblems } from '../input/validate.ts';
import type { InputSource } from '../input/yaml.ts';
import { defaultQueue, loadRunConfig, localModel, runSectionSchema, type RunConfig } from './config.ts';

const memberSchema = z.strictObject({
  command: z.array(z.string().min(1)).min(1).max(1000).optional(),
  cwd: z.string().min(1).optional(),
  env: runSectionSchema.shape.env,
  /** A callee's balancer (default: a free port); the entry's is run.port. */
  port: z.number().int().min(0).max(65535).optional(),
  initialReplicas: z.number().int().min(1).max(10_000).optional(),
  loadBalancing: z.enum(['leastRequests', 'random']).optional(),
});

export const graphRunSchema = runSectionSchema
  .omit({ service: true, loadBalancing: true, initialReplicas: true, queue: true })
  .extend({ services: z.record(z.string().min(1), memberSchema).optional() });

export type GraphRunSection = z.output<typeof graphRunSchema>;

export interface GraphRunConfig {
  file: string;
  entry: string;
  /** The services the entry reaches, callees first (the start order). */
  models: ServiceModel[];
  /** Each member's own run section (for its LocalCluster), CALLS not yet set. */
  members: Map<string, RunConfig['run']>;
  /** The shared section: the entry's ports, host, token, tick. */
  run: Readonly<GraphRunSection>;
  alerts: RunConfig['alerts'];
}

/** A graph run when the spec has an end-to-end entry and run.service is not set; else one service. */
export function loadRunOrGraph(
  file: string,
): { kind: 'graph'; cfg: GraphRunConfig } | { kind: 'service'; cfg: RunConfig } {
  const source = readSpecSource(readInputFile(file, { what: 'the spec', maxBytes: SPEC_MAX_BYTES }), file);
  const data = source.data as { run?: { service?: unknown }; services?: unknown };
  // As written (the spec's own problems are reported by whichever loader runs).
  const entryWritten =
    Array.isArray(data.services) &&
    (data.services as Array<{ slo?: { scope?: unknown } } | null>).some((s) => s?.slo?.scope === 'endToEnd');
  if (!entryWritten || data.run === undefined || data.run?.service !== undefined) {
    return { kind: 'service', cfg: loadRunConfig(file) };
  }
  return { kind: 'graph', cfg: loadGraphRunConfig(file, source) };
}

/** Every problem of the spec, run: (with its services) and alerts:, together, with line:column. */
function loadGraphRunConfig(file: string, source: InputSource): GraphRunConfig {
  const { spec, problems } = checkSpec(source, dirname(resolve(file)));
  const data = source.data as { run?: unknown; alerts?: unknown };
  const run = checkSchema(graphRunSchema, data.run, { file, path: 'run' }, problems);
  const alerts = checkAlertConfig(data.alerts, file);
  problems.push(...alerts.problems);
  const entry = spec?.services.find((m) => m.endToEndSlo);
  if (!spec || !run || !entry || !alerts.config) {
    throwProblems(problems, source);
    throw new Error('unreachable: no problems, but nothing loaded');
  }
  const byName = new Map(spec.services.map((m) => [m.name, m]));
  const order = calleesFirst((n) => byName.get(n)?.calls ?? [], entry.name);
  const at = (path: string, value: unknown, message: string, allowed: string): void =>
    void problems.push({ code: 'HR_SPEC_INVALID', file, path, value, message, allowed });
  for (const [name, m] of Object.entries(run.services ?? {})) {
    if (!order.includes(name)) {
      at(`run.services.${name}`, name, `not a service the entry ${entry.name} reaches`, `one of ${order.join(', ')}`);
    }
    if (name === entry.name && m.port !== undefined) {
      at(`run.services.${name}.port`, m.port, "the entry's balancer is run.port", 'leave it out; set run.port');
    }
    // Calls the spec does not list would be load the plan does not see.
    if (m.env?.CALLS !== undefined) {
      at(`run.services.${name}.env.CALLS`, m.env.CALLS, "headroom sets CALLS from the spec's calls", 'leave it out');
    }
  }
  if (run.env?.CALLS !== undefined)
    at('run.env.CALLS', run.env.CALLS, "headroom sets CALLS from the spec's calls", 'leave it out');
  if (run.capacity === 'learned') {
    // Little's law at a caller's balancer would count its callees' time as its own work.
    at('run.capacity', run.capacity, "a graph run sizes from the spec (a caller's time includes its calls)", 'spec');
  }
  const ports = new Map<number, string>();
  const usePort = (port: number, path: string): void => {
    if (port === 0) return;
    const other = ports.get(port);
    if (other) at(path, port, `the same port as ${other}`, 'a port no other balancer or status server uses');
    else ports.set(port, path);
  };
  usePort(run.port, 'run.port');
  usePort(run.statusPort, 'run.statusPort');
  for (const [name, m] of Object.entries(run.services ?? {}))
    if (m.port !== undefined && name !== entry.name) usePort(m.port, `run.services.${name}.port`);
  const backoff = run.restartBackoff;
  if (backoff && backoff.maxSeconds < backoff.initialSeconds) {
    at(
      'run.restartBackoff.maxSeconds',
      backoff.maxSeconds,
      'below restartBackoff.initialSeconds',
      `>= ${backoff.initialSeconds}`,
    );
  }
  throwProblems(problems, source);

  const baseDir = dirname(resolve(file));
  const { services: perService, ...shared } = run;
  const members = new Map<string, RunConfig['run']>();
  const models: ServiceModel[] = [];
  for (const name of order) {
    const model = byName.get(name) as ServiceModel;
    const m = perService?.[name] ?? {};
    const command = m.command ?? run.command;
    const isEntry = name === entry.name;
    const effective = localModel(model, m.loadBalancing);
    models.push(effective);
    members.set(
      name,
      Object.freeze({
        ...shared,
        service: name,
        // `node` means the Node.js running Headroom, as for one service.
        command: command[0] === 'node' ? [process.execPath, ...command.slice(1)] : command,
        cwd: resolve(baseDir, m.cwd ?? run.cwd ?? '.'),
        env: { ...run.env, ...m.env },
        // Callees listen on loopback only: the services call them, users call the entry.
        host: isEntry ? run.host : '127.0.0.1',
        port: isEntry ? run.port : (m.port ?? 0),
        statusPort: isEntry ? run.statusPort : 0,
        ...(m.initialReplicas !== undefined ? { initialReplicas: m.initialReplicas } : {}),
        // A caller's balancer measures its calls too: its own model cannot be checked against that.
        calibrate: run.calibrate && (model.calls?.length ?? 0) === 0,
        queue: defaultQueue(effective, spec.raw.services.find((s) => s.name === name)?.instance),
      }),
    );
  }
  deepFreeze(spec);
  const section = run.stateFile !== undefined ? { ...run, stateFile: resolve(baseDir, run.stateFile) } : run;
  return { file, entry: entry.name, models, members, run: Object.freeze(section), alerts: alerts.config };
}
