// Kubernetes API clients built on @kubernetes/client-node, all sharing one configuration with a
// request counter (the benchmark reports API requests per reconcile round) and one retry policy:
// 429 and 5xx (and refused connections while an apiserver restarts) back off and retry;
// 4xx other than 429 are answers, not failures, and go back to the caller at once.
import {
  ApiException,
  AutoscalingV1Api,
  type Cluster,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  ServerConfiguration,
  createConfiguration,
  ResponseContext,
  SelfDecodingBody,
  wrapHttpLibrary,
  type PromiseHttpLibrary,
  type RequestContext,
  type SecurityAuthentication,
  type V1APIResource,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { getGlobalDispatcher, type Dispatcher as UndiciDispatcher } from 'undici';

export interface RequestCounter {
  total: number;
  byMethod: Record<string, number>;
}

export interface KubeClients {
  kc: KubeConfig;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  autoscaling: AutoscalingV1Api;
  coordination: CoordinationV1Api;
  discovery: Discovery;
  counter: RequestCounter;
}

/** KubernetesObjectApi keeps its discovery cache private; this exposes the lookup we need. */
export class Discovery extends KubernetesObjectApi {
  lookup(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
}

/** Load a kubeconfig: a file, else $KUBECONFIG / ~/.kube/config, else the in-cluster service account. */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

export function makeClients(kc: KubeConfig, userAgent = 'headroom-controller'): KubeClients {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const counter: RequestCounter = { total: 0, byMethod: {} };
  // client-node 2.x builds a new undici Agent (TLS settings) for every request: a TLS handshake
  // per call and idle sockets left behind, and building and destroying the Agent alone cost the
  // controller ~0.1 ms of CPU per request. Build one and reuse its connections; build a new one only
  // when the TLS material changes (rotated client certificates). Credentials that change per request
  // (tokens) travel in headers, set per request as before.
  const reuse = new ReusedDispatcher(kc);
  const auth: SecurityAuthentication = {
    getName: () => kc.getName(),
    applySecurityAuthentication: (ctx) => reuse.kc.applySecurityAuthentication(ctx),
  };
  const config = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    httpApi: wrapHttpLibrary(new RequestHttpLibrary()),
    authMethods: { default: auth },
    promiseMiddleware: [
      {
        pre: (ctx) => {
          counter.total++;
          const m = ctx.getHttpMethod();
          counter.byMethod[m] = (counter.byMethod[m] ?? 0) + 1;
          ctx.setHeaderParam('User-Agent', userAgent);
          return Promise.resolve(ctx);
        },
        post: (res) => Promise.resolve(res),
      },
    ],
  });
  return {
    kc,
    custom: new CustomObjectsApi(config),
    core: new CoreV1Api(config),
    autoscaling: new AutoscalingV1Api(config),
    coordination: new CoordinationV1Api(config),
    discovery: new Discovery(config),
    counter,
  };
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * client-node's API calls over undici's `request()` instead of its default `fetch()`: the same
 * dispatcher (connection pool, TLS), headers and abort signal, without the WHATWG Request/Response,
 * stream and AbortSignal objects fetch builds per call. With the dispatcher reuse below it cut the
 * controller's CPU for a 1,000-policy round by ~30 % (cold round 5.0–6.2 → 3.5–4.5 s;
 * docs/benchmarks.md#controller). Watches do not come through here (client-node's Watch).
 */
export class RequestHttpLibrary implements PromiseHttpLibrary {
  async send(req: RequestContext): Promise<ResponseContext> {
    const url = new URL(req.getUrl());
    const body = req.getBody();
    if (body !== undefined && typeof body !== 'string') throw new Error('RequestHttpLibrary: only string bodies');
    const dispatcher = (req.getDispatcher() as UndiciDispatcher | undefined) ?? getGlobalDispatcher();
    const signal = req.getSignal();
    const res = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: req.getHttpMethod() as UndiciDispatcher.HttpMethod,
      headers: req.getHeaders(),
      body,
      ...(signal ? { signal } : {}),
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const data = Buffer.from(await res.body.arrayBuffer());
    return new ResponseContext(res.statusCode, headers, new SelfDecodingBody(Promise.resolve(data)));
  }
}

interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  pfx?: Buffer;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}
/** KubeConfig's (TypeScript-private) factory that applySecurityAuthentication calls per request. */
interface DispatcherFactory {
  createDispatcher(cluster: Cluster | null, opts: TlsOptions): Dispatcher | undefined;
}

/**
 * A view of `kc` whose createDispatcher returns the same dispatcher while the TLS options (CA, client
 * certificate and key, verification, server name) stay the same. Everything else — headers, tokens,
 * exec plugins — is `kc`'s own code, run per request.
 */
export class ReusedDispatcher {
  readonly kc: KubeConfig;
  /** Dispatchers built so far (1 unless the TLS material changed). */
  built = 0;
  #current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  constructor(base: KubeConfig) {
    const factory = base as unknown as DispatcherFactory;
    if (typeof factory.createDispatcher !== 'function') {
      throw new Error('@kubernetes/client-node: KubeConfig.createDispatcher is gone; update makeClients');
    }
    const view = Object.create(base) as KubeConfig;
    (view as unknown as DispatcherFactory).createDispatcher = (cluster, opts) => {
      const key = tlsKey(cluster, opts);
      if (this.#current?.key !== key) {
        const old = this.#current?.dispatcher;
        this.#current = { key, dispatcher: factory.createDispatcher.call(base, cluster, opts) };
        this.built++;
        // In-flight requests on the old one finish; its idle sockets go.
        void old?.close().catch(() => undefined);
      }
      return this.#current.dispatcher;
    };
    this.kc = view;
  }
}

/** What identifies a TLS configuration: the fields createDispatcher reads, buffers by content. */
function tlsKey(cluster: Cluster | null, o: TlsOptions): string {
  const b = (v: Buffer | string | undefined): string => (Buffer.isBuffer(v) ? v.toString('base64') : (v ?? ''));
  return [
    cluster?.server,
    cluster?.proxyUrl,
    b(o.ca),
    b(o.cert),
    b(o.key),
    b(o.pfx),
    b(o.passphrase),
    o.rejectUnauthorized,
    o.servername,
  ].join('|');
}

/** HTTP status of a failed call, or undefined for transport errors (refused, reset, timeout). */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The apiserver's own message (Status.message) when there is one. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let parsed: unknown = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        return `HTTP ${err.code}: ${body.slice(0, 300)}`;
      }
    }
    const msg = (parsed as { message?: unknown } | null)?.message;
    return `HTTP ${err.code}: ${typeof msg === 'string' ? msg : err.message.slice(0, 300)}`;
  }
  if (err instanceof Error) {
    const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

export function isRetryable(err: unknown): boolean {
  const s = statusOf(err);
  return s === undefined || s === 429 || s >= 500;
}

export interface RetryOptions {
  /** Attempts in all, first included (default 4). */
  attempts?: number;
  /** First back-off, ms; doubles each time, ±20 % jitter, capped at maxMs (default 200 / 5000). */
  baseMs?: number;
  maxMs?: number;
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
}

/**
 * Run `fn`, retrying 429/5xx/transport errors with exponential back-off. A 429's Retry-After (s)
 * is honoured when longer. E.g. base 200 ms: waits ≈ 200, 400, 800 ms, then the error is thrown.
 */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseMs ?? 200;
  const max = opts.maxMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err) || opts.signal?.aborted) throw err;
      let wait = Math.min(max, base * 2 ** (attempt - 1)) * (0.8 + 0.4 * Math.random());
      const retryAfter = err instanceof ApiException ? Number(err.headers['retry-after']) : NaN;
      if (Number.isFinite(retryAfter)) wait = Math.max(wait, Math.min(max, retryAfter * 1000));
      opts.onRetry?.(err, attempt, wait);
      await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : undefined).catch(() => undefined);
    }
  }
}
