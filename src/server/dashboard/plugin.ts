// The dashboard: a fastify plugin that serves the page, its assets and its API on the status server
// of `headroom run` (and of anything else that has StatusSnapshots, e.g. the Kubernetes controller).
//
//   GET  /                     the page (service list, live charts, decisions, alerts, what-if)
//   GET  /assets/<name>        our JS/CSS and uPlot's, read from disk at startup (no CDN)
//   GET  /api/services         every service's snapshot (and call graph), once
//   GET  /api/events           Server-Sent Events: one `snapshot` event per push (history as deltas)
//   POST /api/what-if          plan for other demand / SLO values (see whatif.ts)
//   POST /api/actions/shadow   { service?, shadow: bool }   only with allowWrite, else 403
//   POST /api/actions/pause    { service?, paused: bool }   only with allowWrite, else 403
//
// Security (auth.ts): the plugin's onRequest hook guards EVERY route of the app it is registered
// on (it skips fastify's encapsulation), /api/status and /metrics included; only /healthz is open.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { instanceHourCost, monthlyCost } from '../../core/cost.ts';
import { HeadroomError } from '../../core/errors.ts';
import type { ServiceModel } from '../../core/model.ts';
import type { AlertStatus } from '../../alerting/runtime.ts';
import type { Alert } from '../../alerting/types.ts';
import type { GraphView } from '../graph-view.ts';
import type { HistoryPoint, StatusSnapshot } from '../status.ts';
import { escapeHtml } from '../html.ts';
import { loadAssets, pageTemplate } from './assets.ts';
import { authHook, resolveToken } from './auth.ts';
import { runWhatIf, snapshotCapacity, whatIfRequestSchema, type SizingCapacity } from './whatif.ts';

export interface DashboardActions {
  /** Shadow on: decide and report, do not scale. */
  setShadow?(service: string, shadow: boolean): void | Promise<void>;
  /** Paused: the control loop stops deciding and acting (instances keep running). */
  setPaused?(service: string, paused: boolean): void | Promise<void>;
}

export interface DashboardOptions {
  /** One service (local mode) or several (controller). Called on every push and API read. */
  status: () => StatusSnapshot | readonly StatusSnapshot[];
  /** The services' models, for what-if; without them POST /api/what-if answers 404. */
  models?: () => readonly ServiceModel[];
  /** The address the server listens on: non-loopback requires a token (HR_TOKEN_REQUIRED). */
  listenHost?: string;
  /** Bearer token; undefined = open (loopback only). */
  token?: string | undefined;
  /** Enable the write actions (shadow/active toggle, pause). Default false: read-only. */
  allowWrite?: boolean;
  actions?: DashboardActions;
  /** How often /api/events pushes a snapshot, ms (default 1000). */
  pushIntervalMs?: number;
  /** Page title (default "Headroom"). */
  title?: string;
  /** Current alerts (e.g. `alerting.status()` or its `alerts`), shown with their state. */
  alerts?: () => AlertStatus | readonly Alert[];
  /** Call graphs (a graph run, HeadroomApplications), drawn as a picture; absent = none. */
  graphs?: () => readonly GraphView[];
}

/** With pricing (the model's): what the running and the desired instances cost per 730-h month. */
export interface DashboardCost {
  currency: string;
  perInstanceHour: number;
  currentPerMonth: number;
  desiredPerMonth: number;
}

/**
 * Fields the page reads when a snapshot carries them (the alerting engine, pause support, pricing),
 * and the capacity the loop sizes with (calibration applied), for the capacity figure and line.
 */
export type DashboardSnapshot = StatusSnapshot & {
  alerts?: unknown;
  paused?: boolean;
  cost?: DashboardCost;
  sizing?: SizingCapacity;
};

const actionSchema = (field: 'shadow' | 'paused') =>
  z.strictObject({ service: z.string().min(1).max(253).optional(), [field]: z.boolean() });

function list(opts: DashboardOptions): DashboardSnapshot[] {
  const s = opts.status();
  const snaps = (
    Array.isArray(s) ? [...(s as readonly StatusSnapshot[])] : [s as StatusSnapshot]
  ) as DashboardSnapshot[];
  const models = opts.models?.() ?? [];
  return snaps.map((snap) => {
    const model = models.find((m) => m.name === snap.service.name);
    const cost = model?.pricing !== undefined ? dashboardCost(model, snap) : undefined;
    return { ...snap, sizing: snapshotCapacity(snap), ...(cost ? { cost } : {}) };
  });
}

/** The cost of a snapshot's running (current) and desired counts at the model's prices. */
export function dashboardCost(model: ServiceModel, snap: Pick<StatusSnapshot, 'replicas'>): DashboardCost | undefined {
  const p = model.pricing;
  const { current, desired } = snap.replicas;
  // Unknown counts (a controller's policy before its first round) have no cost yet, not zero.
  if (!p || current === null || desired === null) return undefined;
  return {
    currency: p.currency,
    perInstanceHour: instanceHourCost(p, model.instance),
    currentPerMonth: monthlyCost(p, model.instance, current),
    desiredPerMonth: monthlyCost(p, model.instance, desired),
  };
}

/** Alerts as a plain list; a failing source shows as none rather than breaking the page. */
function alertsOf(opts: DashboardOptions): readonly Alert[] | null {
  if (!opts.alerts) return null;
  try {
    const a = opts.alerts();
    return Array.isArray(a) ? (a as readonly Alert[]) : (a as AlertStatus).alerts;
  } catch {
    return null;
  }
}

function problem(reply: FastifyReply, code: number, error: string, message: string, extra: object = {}) {
  return reply.code(code).send({ error, message, ...extra });
}

const dashboardPluginImpl: FastifyPluginAsync<DashboardOptions> = async (app: FastifyInstance, opts) => {
  const token = resolveToken(opts.listenHost ?? '127.0.0.1', opts.token);
  const allowWrite = opts.allowWrite === true;
  const pushMs = opts.pushIntervalMs ?? 1000;
  const assets = loadAssets();
  const template = pageTemplate();

  app.addHook('onRequest', authHook({ token }));
  // JSON (and every other answer) is never sniffed into something a browser would run.
  app.addHook('onSend', async (_req, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
  });

  app.get('/', async (req, reply) => {
    // Assets are loaded by <script src>/<link href>, which cannot send a header: when the page
    // was opened with ?token=, the asset URLs carry it too.
    const q = (req.query as Record<string, unknown>).token;
    const assetQuery = token !== undefined && typeof q === 'string' ? `?token=${encodeURIComponent(q)}` : '';
    const html = template
      .replaceAll('{{ASSET_QUERY}}', escapeHtml(assetQuery))
      .replaceAll('{{TITLE}}', escapeHtml(opts.title ?? 'Headroom'));
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
      )
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(html);
  });

  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const a = assets.get(req.params.name);
    if (!a) return problem(reply, 404, 'not found', `no asset ${req.params.name}`);
    return reply
      .header('content-type', a.type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(a.body);
  });

  app.get('/api/services', async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
    return {
      services: list(opts),
      allowWrite,
      whatIf: opts.models !== undefined,
      alerts: alertsOf(opts),
      graphs: opts.graphs?.() ?? [],
    };
  });

  // Server-Sent Events. The first event carries each service's whole history; later ones only the
  // points newer than the last sent, so the charts' history crosses the wire once.
  const streams = new Set<() => void>();
  app.get('/api/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      // writeHead after hijack() skips the onSend hook that sets this on every other answer.
      'x-content-type-options': 'nosniff',
    });
    const lastT = new Map<string, number>();
    let seq = 0;
    const push = (): void => {
      let services: DashboardSnapshot[];
      try {
        services = list(opts);
      } catch (err) {
        // Not `event: error`: EventSource reports its own connection errors under that name.
        res.write(`event: problem\ndata: ${JSON.stringify({ message: String(err) })}\n\n`);
        return;
      }
      const out = services.map((s) => {
        const since = lastT.get(s.service.name) ?? -Infinity;
        const history: HistoryPoint[] = s.history.filter((p) => p.t > since);
        const newest = s.history.at(-1);
        if (newest) lastT.set(s.service.name, newest.t);
        return { ...s, history };
      });
      const body = JSON.stringify({
        seq: seq++,
        full: seq === 1,
        allowWrite,
        whatIf: opts.models !== undefined,
        alerts: alertsOf(opts),
        graphs: opts.graphs?.() ?? [],
        services: out,
      });
      res.write(`id: ${seq}\nevent: snapshot\ndata: ${body}\n\n`);
    };
    res.write(`retry: 2000\n\n`);
    push();
    const timer = setInterval(push, pushMs);
    const end = (): void => {
      clearInterval(timer);
      streams.delete(end);
      if (!res.writableEnded) res.end();
    };
    streams.add(end);
    req.raw.on('close', end);
  });
  // Open streams would keep app.close() waiting forever: end them first.
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });

  app.post('/api/what-if', async (req, reply) => {
    if (!opts.models) return problem(reply, 404, 'not found', 'what-if needs the services’ models; none were given');
    const parsed = whatIfRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return problem(reply, 400, 'bad request', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    const models = opts.models();
    const name = parsed.data.service ?? (models.length === 1 ? models[0]?.name : undefined);
    const model = models.find((m) => m.name === name);
    if (!model) {
      return problem(reply, 404, 'not found', `no service ${name ?? '(name one)'}`, {
        allowed: models.map((m) => m.name),
      });
    }
    const snap = list(opts).find((s) => s.service.name === model.name);
    try {
      return runWhatIf(model, parsed.data, snap);
    } catch (err) {
      if (err instanceof HeadroomError) return problem(reply, 422, err.code, err.message);
      throw err;
    }
  });

  // Write actions: refused unless the server was started with allowWrite (--allow-write).
  const action = (path: string, field: 'shadow' | 'paused', run: DashboardActions['setShadow']) => {
    app.post(path, async (req, reply) => {
      if (!allowWrite) {
        return problem(reply, 403, 'forbidden', 'the dashboard is read-only: start the server with --allow-write');
      }
      if (!run) return problem(reply, 501, 'not implemented', `this server cannot change ${field}`);
      const parsed = actionSchema(field).safeParse(req.body ?? {});
      if (!parsed.success) return problem(reply, 400, 'bad request', `expected { service?, ${field}: true|false }`);
      const services = list(opts);
      const name =
        (parsed.data.service as string | undefined) ?? (services.length === 1 ? services[0]?.service.name : undefined);
      if (!services.some((s) => s.service.name === name)) {
        return problem(reply, 404, 'not found', `no service ${name ?? '(name one)'}`);
      }
      const on = parsed.data[field] as boolean;
      await run(name!, on);
      req.log.info({ service: name, [field]: on }, 'dashboard action');
      return { service: name, [field]: on };
    });
  };
  action('/api/actions/shadow', 'shadow', opts.actions?.setShadow?.bind(opts.actions));
  action('/api/actions/pause', 'paused', opts.actions?.setPaused?.bind(opts.actions));
};

// Skip fastify's encapsulation so the auth hook covers the routes of the app that registers us
// (the same as wrapping with fastify-plugin, without the dependency).
function unencapsulated<T extends object>(plugin: T): T {
  const p = plugin as unknown as Record<symbol, unknown>;
  p[Symbol.for('skip-override')] = true;
  p[Symbol.for('fastify.display-name')] = 'headroom-dashboard';
  return plugin;
}
unencapsulated(dashboardPluginImpl);

/** `app.register(dashboardPlugin, { status, models, token, allowWrite, listenHost })`. */
export const dashboardPlugin = dashboardPluginImpl;

/** The plugin with its options bound, for `plugins: [dashboard({...})]` lists. */
export function dashboard(opts: DashboardOptions): FastifyPluginAsync {
  return unencapsulated<FastifyPluginAsync>((app) => dashboardPluginImpl(app, opts));
}
