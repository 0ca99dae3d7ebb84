// The controller's HTTP server. One port serves:
//   /metrics (Prometheus text, prom-client), /healthz (the loop is alive), /readyz (policies listed;
//   a standby is ready too, so a rollout can proceed): always open, as kubelet and Prometheus
//   scrape them without credentials;
//   /api/status (one StatusSnapshot per policy) and the dashboard (src/server/dashboard, the same
//   plugin and API as `headroom run`): read-only, guarded by the dashboard's token rule (a
//   non-loopback listen address needs a token; see src/server/dashboard/auth.ts).
// The probe paths are answered before fastify, so the dashboard's auth hook never sees them.
import Fastify, { type FastifyInstance } from 'fastify';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { AlertStatus } from '../alerting/runtime.ts';
import type { ServiceModel } from '../core/model.ts';
import { dashboard } from '../server/dashboard/plugin.ts';
import type { GraphView } from '../server/graph-view.ts';
import type { StatusSnapshot } from '../server/status.ts';

export interface Probe {
  readonly healthy: boolean;
  readonly ready: boolean;
  readonly isLeader: boolean;
  readonly registry: Registry;
}

/** A Probe that can also report status: the Controller. */
export interface StatusSource extends Probe {
  statusSnapshots(): StatusSnapshot[];
  models(): ServiceModel[];
  /** The call graphs (HeadroomApplications) the dashboard draws. */
  graphs?(): GraphView[];
}

export interface ServeOptions {
  port: number;
  host?: string;
  /** Serve /api/status and the dashboard (needs statusSnapshots on the probe). */
  status?: boolean;
  /** Bearer token for /api/* and the dashboard; required off loopback (HR_TOKEN_REQUIRED). */
  token?: string | undefined;
  /** Alerts shown on the dashboard page. */
  alerts?: () => AlertStatus;
  /** Dashboard push interval, ms (default 1000). */
  pushIntervalMs?: number;
}

export interface ControllerServer {
  app: FastifyInstance;
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Answers the probe paths; false = not one of them. */
function probeHandler(probe: Probe, status: boolean) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (code: number, body: string, type = 'text/plain; charset=utf-8'): true => {
      res.writeHead(code, { 'content-type': type, 'x-content-type-options': 'nosniff' }).end(body);
      return true;
    };
    const probePath = path === '/healthz' || path === '/readyz' || path === '/metrics';
    if (!probePath) return status ? false : text(404, 'not found: try /metrics, /healthz, /readyz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
    if (path === '/healthz') return probe.healthy ? text(200, 'ok\n') : text(503, 'reconcile loop stalled\n');
    if (path === '/readyz')
      return probe.ready
        ? text(200, `ok${probe.isLeader ? ' (leader)' : ''}\n`)
        : text(503, 'policies not listed yet\n');
    probe.registry.metrics().then(
      (body) => text(200, body, probe.registry.contentType),
      (err: unknown) => text(500, `${String(err)}\n`),
    );
    return true;
  };
}

function isStatusSource(p: Probe): p is StatusSource {
  return typeof (p as Partial<StatusSource>).statusSnapshots === 'function';
}

/**
 * Build and listen. Throws HR_TOKEN_REQUIRED (before listening) when status is on, the host is not
 * loopback and there is no token.
 */
export async function serveController(probe: Probe, opts: ServeOptions): Promise<ControllerServer> {
  const host = opts.host ?? '127.0.0.1';
  const withStatus = opts.status !== false && isStatusSource(probe);
  const probes = probeHandler(probe, withStatus);
  const app = Fastify({
    logger: false,
    serverFactory: (handler) =>
      createServer((req, res) => {
        if (!probes(req, res)) handler(req, res);
      }),
  });
  if (withStatus) {
    const src = probe;
    // Registered first: its onRequest hook (token / loopback Host check) guards every later route.
    await app.register(
      dashboard({
        status: () => src.statusSnapshots(),
        models: () => src.models(),
        graphs: () => src.graphs?.() ?? [],
        listenHost: host,
        token: opts.token,
        allowWrite: false,
        title: 'Headroom controller',
        ...(opts.alerts ? { alerts: opts.alerts } : {}),
        ...(opts.pushIntervalMs !== undefined ? { pushIntervalMs: opts.pushIntervalMs } : {}),
      }),
    );
    app.get('/api/status', async (_req, reply) => {
      void reply.header('cache-control', 'no-store');
      return src.statusSnapshots();
    });
  }
  try {
    await app.listen({ host, port: opts.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const h = host.includes(':') ? `[${host}]` : host;
  return { app, server: app.server, port, url: `http://${h}:${port}`, close: () => app.close() };
}

/** The probe endpoints only (no status API, no dashboard). */
export async function serveProbes(probe: Probe, port: number, host = '0.0.0.0'): Promise<ControllerServer> {
  return serveController(probe, { port, host, status: false });
}
