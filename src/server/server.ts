// The HTTP server of a Headroom service: JSON status (GET /api/status), Prometheus (GET /metrics),
// and its own liveness (GET /healthz). Built on fastify so other parts can add routes: the
// dashboard registers its page as a plugin (`plugins: [dashboard]`), the Kubernetes controller can
// serve its own status through the same function.
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { listenError } from './listen-error.ts';
import type { ServiceMetrics } from './prometheus.ts';
import type { StatusSnapshot } from './status.ts';

export interface StatusServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  status: () => StatusSnapshot;
  metrics?: ServiceMetrics;
  /** Registered before listening: extra routes (dashboard pages, assets, APIs). */
  plugins?: FastifyPluginAsync[];
  /** Key paths named in the listen errors, e.g. run.statusPort and run.host. */
  portKey?: string;
  hostKey?: string;
}

export interface StatusServer {
  app: FastifyInstance;
  url: string;
  port: number;
  close(): Promise<void>;
}

export function buildStatusApp(opts: Omit<StatusServerOptions, 'host' | 'port'>): FastifyInstance {
  const app = Fastify({ logger: false });
  // No answer is sniffed into something a browser would run (/api/status is JSON).
  app.addHook('onSend', async (_req, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
  });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/api/status', async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
    return opts.status();
  });
  app.get('/metrics', async (_req, reply) => {
    const m = opts.metrics;
    if (!m) return reply.code(404).send({ error: 'no metrics' });
    m.update(opts.status());
    void reply.header('content-type', m.registry.contentType);
    return m.registry.metrics();
  });
  for (const p of opts.plugins ?? []) void app.register(p);
  return app;
}

/** Build and listen; HR_PORT_IN_USE when the port is taken. */
export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const app = buildStatusApp(opts);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close();
    const at = { what: 'the status server', host: opts.host, port: opts.port };
    throw listenError(err, { ...at, portKey: opts.portKey ?? 'statusPort', hostKey: opts.hostKey ?? 'host' }) ?? err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return { app, url: `http://${opts.host}:${port}`, port, close: () => app.close() };
}
