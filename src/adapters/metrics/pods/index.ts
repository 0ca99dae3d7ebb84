// The request rate of a scale target's pods, read from the pods each round (PodRateSource).
//
// Prometheus shows a burst one scrape interval late at best (15 s + 15 s with the usual settings);
// Knative's autoscaler reads its queue-proxies every second instead, which is most of why KPA
// reacts first to a flash crowd. This does the same for any pod that exports a request counter:
// list the target's pods by its selector, GET http://<podIP>:<port><path> from the ready ones (at
// most maxPods of them, chosen by uid so the same pods keep their history), sum the counter's
// series, and turn the readings into a rate over the burst window (history.ts). Pods that did not
// answer are made up for by the ones that did, as KPA does: 3 ready, 2 read at 40 and 50 rps →
// 135 rps. Pods that are not ready are neither read nor counted: they take no traffic.
import parse from 'parse-prometheus-text-format';
import { request } from 'undici';
import type { KubeClients } from '../../kubernetes/client.ts';
import type { MetricSample, PodCounter, PodRateQuery, PodRateSource } from '../../../ports/metrics.ts';
import { isPodReady, type PodLike } from '../../actuators/kubernetes/ready.ts';
import { PodHistory, type PodReading } from './history.ts';

/** What the scraper needs of a pod (a V1Pod has it). */
export interface ScrapedPod extends PodLike {
  metadata?: PodLike['metadata'] & { uid?: string; name?: string };
  spec?: { containers?: Array<{ ports?: Array<{ name?: string; containerPort?: number }> }> };
  status?: PodLike['status'] & { podIP?: string };
}

export interface PodScraperOptions {
  /** The pods `selector` matches in `namespace` (the controller lists them through the apiserver). */
  listPods: (namespace: string, selector: string) => Promise<readonly ScrapedPod[]>;
  /** Per-pod read timeout, ms (default 1000: a round may be 1 s). */
  timeoutMs?: number;
  /** Pods read per round at most (default 16, KPA's sample size order). */
  maxPods?: number;
  /** A /metrics answer larger than this is refused, bytes (default 4 MiB). */
  maxBytes?: number;
}

export class PodScraper implements PodRateSource {
  readonly #o: Required<PodScraperOptions>;
  readonly #history = new PodHistory();

  constructor(o: PodScraperOptions) {
    this.#o = { timeoutMs: 1000, maxPods: 16, maxBytes: 4 << 20, ...o };
  }

  async rate(q: PodRateQuery): Promise<MetricSample> {
    const where = `pods ${q.selector} in ${q.namespace}`;
    let pods: readonly ScrapedPod[];
    try {
      pods = await this.#o.listPods(q.namespace, q.selector);
    } catch (err) {
      return { kind: 'error', reason: `listing ${where}: ${describe(err)}` };
    }
    const ready = pods.filter((p) => isPodReady(p) && p.status?.podIP && p.metadata?.uid);
    if (ready.length === 0) return { kind: 'no-data', reason: `no ready ${where}` };
    const chosen = [...ready].sort((a, b) => (a.metadata!.uid! < b.metadata!.uid! ? -1 : 1)).slice(0, this.#o.maxPods);
    const reads = await Promise.all(chosen.map((p) => this.#read(p, q.counter)));
    const values = new Map<string, PodReading>();
    const failed: string[] = [];
    reads.forEach((r, i) => {
      if (typeof r === 'string') failed.push(r);
      else values.set(chosen[i]!.metadata!.uid!, r);
    });
    const rates = this.#history.record(q.key, q.nowMs / 1000, values, q.windowSeconds);
    if (values.size === 0)
      return { kind: 'error', reason: `${failed.length} of ${chosen.length} ${where}: ${failed[0]}` };
    if (rates.size === 0) return { kind: 'no-data', reason: `first reading of ${where}: a rate needs two` };
    let sum = 0;
    for (const r of rates.values()) sum += r;
    return { kind: 'ok', value: (sum * ready.length) / rates.size, at: q.nowMs / 1000, series: rates.size };
  }

  /** One pod's counter (the sum of its matching series) and in-flight gauge, or why not. */
  async #read(p: ScrapedPod, c: PodCounter): Promise<PodReading | string> {
    const name = p.metadata?.name ?? p.metadata?.uid ?? '?';
    const port = typeof c.port === 'number' ? c.port : portByName(p, c.port);
    if (port === undefined) return `pod ${name} has no container port named ${c.port}`;
    const ip = p.status!.podIP!;
    const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}${c.path}`;
    let text: string;
    try {
      const res = await request(url, { method: 'GET', signal: AbortSignal.timeout(this.#o.timeoutMs) });
      const length = Number(res.headers['content-length'] ?? 0);
      if (res.statusCode !== 200 || length > this.#o.maxBytes) {
        await res.body.dump();
        return `pod ${name} ${url}: ${res.statusCode !== 200 ? `HTTP ${res.statusCode}` : `${length} bytes > ${this.#o.maxBytes}`}`;
      }
      text = await res.body.text();
      if (text.length > this.#o.maxBytes) return `pod ${name} ${url}: ${text.length} bytes > ${this.#o.maxBytes}`;
    } catch (err) {
      return `pod ${name} ${url}: ${describe(err)}`;
    }
    let families: Families;
    try {
      families = parse(text);
    } catch (err) {
      return `pod ${name} ${url}: not the Prometheus text format (${describe(err)})`;
    }
    // A labelled counter has no series until its first request with those labels: that is 0.
    const answered = sumOf(families, c.metric, c.labels);
    if (typeof answered === 'string') return `pod ${name} ${url}: ${answered}`;
    if (c.inFlight === undefined) return { answered };
    const waiting = sumOf(families, c.inFlight);
    return typeof waiting === 'string' ? `pod ${name} ${url}: ${waiting}` : { answered, waiting };
  }
}

/**
 * The controller's scraper: pods listed through the apiserver (RBAC: list pods). resourceVersion
 * "0" lets the apiserver answer from its watch cache instead of a quorum read from etcd (what
 * informers' first LIST does): a round a second per policy stays cheap, and readiness seconds old
 * at most is what a kubelet's report is anyway.
 */
export function kubernetesPodScraper(k: Pick<KubeClients, 'core'>): PodScraper {
  return new PodScraper({
    listPods: async (namespace, labelSelector) =>
      (await k.core.listNamespacedPod({ namespace, labelSelector, resourceVersion: '0' })).items,
  });
}

type Families = ReturnType<typeof parse>;

/** The sum of a family's series (with `labels`, if given), or why it is not a count. */
function sumOf(families: Families, metric: string, labels?: Record<string, string>): number | string {
  const family = families.find((f) => f.name === metric);
  if (!family) return `no ${metric}`;
  let sum = 0;
  for (const m of family.metrics) {
    if (!Object.entries(labels ?? {}).every(([k, v]) => m.labels?.[k] === v)) continue;
    const v = Number(m.value);
    if (!Number.isFinite(v) || v < 0) return `${metric} = ${m.value} is not a count`;
    sum += v;
  }
  return sum;
}

function portByName(p: ScrapedPod, name: string): number | undefined {
  for (const c of p.spec?.containers ?? []) for (const x of c.ports ?? []) if (x.name === name) return x.containerPort;
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
