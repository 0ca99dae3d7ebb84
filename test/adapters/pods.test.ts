// The pod scraper (src/adapters/metrics/pods) against real HTTP servers on 127.0.0.1 that export a
// request counter in the Prometheus text format (prom-client, as a service would). The pods are
// the list the apiserver would answer; each "pod" is one server, by its container port.
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import parse from 'parse-prometheus-text-format';
import { Counter, Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { PodHistory } from '../../src/adapters/metrics/pods/history.ts';
import { kubernetesPodScraper, PodScraper, type ScrapedPod } from '../../src/adapters/metrics/pods/index.ts';
import type { KubeClients } from '../../src/adapters/kubernetes/client.ts';
import type { PodRateQuery } from '../../src/ports/metrics.ts';
import { startService } from '../e2e/support/loadtest.ts';

interface FakePodServer {
  port: number;
  /** Times /metrics was read. */
  reads: number;
  counter: Counter;
  close(): Promise<void>;
}

const servers: FakePodServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function podServer(body?: () => string): Promise<FakePodServer> {
  const registry = new Registry();
  const counter = new Counter({ name: 'http_requests_total', help: 'x', labelNames: ['code'], registers: [registry] });
  const s: FakePodServer = { port: 0, reads: 0, counter, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    s.reads++;
    if (body) return void res.writeHead(200).end(body());
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.port = (server.address() as AddressInfo).port;
  s.close = () => new Promise<void>((r) => server.close(() => r()));
  servers.push(s);
  return s;
}

const pod = (uid: string, port: number, ready = true): ScrapedPod => ({
  metadata: { uid, name: `web-${uid}` },
  spec: { containers: [{ ports: [{ name: 'metrics', containerPort: port }] }] },
  status: {
    phase: 'Running',
    podIP: '127.0.0.1',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  },
});

const query = (nowMs: number, over: Partial<PodRateQuery> = {}): PodRateQuery => ({
  key: 'shop/web',
  namespace: 'shop',
  selector: 'app=web',
  counter: { port: 'metrics', path: '/metrics', metric: 'http_requests_total' },
  windowSeconds: 6,
  nowMs,
  ...over,
});

describe('PodHistory', () => {
  it('rate over the window from the newest reading at or before now − window (the worked example)', () => {
    const h = new PodHistory();
    expect(h.record('k', 10, new Map([['a', 1000]]), 6).size).toBe(0); // one reading: no rate
    expect(h.record('k', 13, new Map([['a', 1300]]), 6).get('a')).toBe(100); // 300 / 3 (shorter span)
    expect(h.record('k', 17, new Map([['a', 1720]]), 6).get('a')).toBeCloseTo(720 / 7, 9); // base t = 10
    expect(h.record('k', 20, new Map([['a', 2020]]), 6).get('a')).toBeCloseTo(720 / 7, 9); // base t = 13 (≤ 14)
    expect(h.record('k', 24, new Map([['a', 2420]]), 6).get('a')).toBeCloseTo(700 / 7, 9); // base t = 17 (≤ 18)
  });

  it('a counter that went down (restart) starts over; a pod gone and back starts over; keys are apart', () => {
    const h = new PodHistory();
    h.record('k', 0, new Map([['a', 500]]), 6);
    h.record('k', 2, new Map([['a', 700]]), 6);
    expect(h.record('k', 4, new Map([['a', 30]]), 6).has('a')).toBe(false);
    expect(h.record('k', 6, new Map([['a', 130]]), 6).get('a')).toBe(50);
    h.record('k', 8, new Map([['b', 1]]), 6); // a not read this round: forgotten
    expect(h.record('k', 10, new Map([['a', 400]]), 6).has('a')).toBe(false);
    expect(h.record('other', 10, new Map([['a', 400]]), 6).size).toBe(0);
  });
});

describe('PodHistory with requests in flight', () => {
  it('arrivals = answered + the growth in flight (the worked example), never below 0', () => {
    const h = new PodHistory();
    h.record('k', 0, new Map([['a', { answered: 5000, waiting: 10 }]]), 6);
    // Saturated: 1,200 answered in 6 s while the queue grew by 1,800 → 3,000 arrived, 500 rps.
    expect(h.record('k', 6, new Map([['a', { answered: 6200, waiting: 1810 }]]), 6).get('a')).toBe(500);
    // Draining: 1,800 answered, the queue down 1,802 (the gauge read two answers ahead) → 0, not < 0.
    expect(h.record('k', 12, new Map([['a', { answered: 8000, waiting: 8 }]]), 6).get('a')).toBe(0);
    // The answered counter going down is still a reset, whatever the gauge does.
    expect(h.record('k', 14, new Map([['a', { answered: 3, waiting: 500 }]]), 6).has('a')).toBe(false);
    expect(h.record('k', 16, new Map([['a', { answered: 13, waiting: 600 }]]), 6).get('a')).toBe(55);
  });
});

describe('PodScraper against real HTTP servers', () => {
  it('sums the ready pods, makes up for one that does not answer, never reads a pod that is not ready', async () => {
    const a = await podServer();
    const b = await podServer();
    const notReady = await podServer();
    const down = await podServer();
    await down.close(); // its port now refuses
    const pods = [pod('a', a.port), pod('b', b.port), pod('c', down.port), pod('d', notReady.port, false)];
    const scraper = new PodScraper({ listPods: () => Promise.resolve(pods) });
    a.counter.inc({ code: '200' }, 100);
    b.counter.inc({ code: '200' }, 40);
    const first = await scraper.rate(query(0));
    expect(first).toMatchObject({ kind: 'no-data' }); // one reading per pod: no rate yet
    a.counter.inc({ code: '200' }, 240); // 40 rps over 6 s
    a.counter.inc({ code: '500' }, 60); // +10 rps: every series counts without a label filter
    b.counter.inc({ code: '200' }, 180); // 30 rps
    const r = await scraper.rate(query(6000));
    // 3 ready pods, 2 answered with 50 + 30 rps → 80 × 3 / 2 = 120 rps.
    expect(r).toMatchObject({ kind: 'ok', series: 2 });
    expect(r.kind === 'ok' && r.value).toBeCloseTo(120, 9);
    expect(notReady.reads).toBe(0);
    // Only code="200": a 40, b 30 → 70 × 3 / 2.
    const counter = { port: 'metrics', path: '/metrics', metric: 'http_requests_total', labels: { code: '200' } };
    const only200 = new PodScraper({ listPods: () => Promise.resolve(pods) });
    await only200.rate(query(0, { counter }));
    a.counter.inc({ code: '200' }, 60);
    a.counter.inc({ code: '500' }, 600);
    b.counter.inc({ code: '200' }, 30);
    const r200 = await only200.rate(query(3000, { counter }));
    expect(r200.kind === 'ok' && r200.value).toBeCloseTo(((60 + 30) / 3) * 1.5, 9);
  });

  it('with inFlight, a saturated example service reads what arrived, not what it answered', async () => {
    // examples/service.ts, one 100-ms slot (10 rps): 120 requests at once take 12 s to answer.
    const svc = await startService({ WORK_MS: '100', CONCURRENCY: '1', WORK_MODE: 'sleep' });
    const dispatcher = new Agent({ connections: 200 });
    try {
      const pods = [pod('a', svc.port)];
      const counter = { port: 'metrics', path: '/metrics', metric: 'http_requests_total' };
      const arrivals = new PodScraper({ listPods: () => Promise.resolve(pods) });
      const answers = new PodScraper({ listPods: () => Promise.resolve(pods) });
      const withInFlight = { ...counter, inFlight: 'http_requests_in_flight' };
      const t0 = Date.now();
      expect(await arrivals.rate(query(t0, { counter: withInFlight }))).toMatchObject({ kind: 'no-data' });
      expect(await answers.rate(query(t0, { counter }))).toMatchObject({ kind: 'no-data' });
      const N = 120;
      const sent = Array.from({ length: N }, () =>
        request(`${svc.url}/work`, { dispatcher }).then(
          (r) => r.body.dump(),
          () => undefined,
        ),
      );
      void Promise.all(sent);
      // Until the service has received all of them (its own answered + in flight), 10 s at most.
      const arrived = async (): Promise<number> => {
        const families = parse(await (await request(`${svc.url}/metrics`)).body.text());
        const value = (name: string): number =>
          (families.find((f) => f.name === name)?.metrics ?? []).reduce((a, m) => a + Number(m.value), 0);
        return value('http_requests_total') + value('http_requests_in_flight');
      };
      for (let i = 0; i < 200 && (await arrived()) < N; i++) await sleep(50);
      expect(await arrived()).toBe(N);
      const t1 = Math.max(Date.now(), t0 + 1);
      const a = await arrivals.rate(query(t1, { counter: withInFlight }));
      const b = await answers.rate(query(t1, { counter }));
      const dt = (t1 - t0) / 1000;
      // Every request that arrived, over the span between the two readings…
      expect(a.kind === 'ok' && a.value * dt).toBeCloseTo(N, 3);
      // …where the answers alone show the few the one slot got through (10 a second).
      expect(b.kind === 'ok' && b.value * dt).toBeLessThan(N / 2);
    } finally {
      svc.child.kill('SIGKILL');
      await dispatcher.destroy();
    }
  });

  it('says what went wrong: no ready pod, the list failed, every pod failed, no such metric, not a port', async () => {
    const a = await podServer();
    const q = query(0);
    const none = new PodScraper({ listPods: () => Promise.resolve([pod('a', a.port, false)]) });
    expect(await none.rate(q)).toEqual({ kind: 'no-data', reason: 'no ready pods app=web in shop' });
    const broken = new PodScraper({ listPods: () => Promise.reject(new Error('pods is forbidden')) });
    expect(await broken.rate(q)).toEqual({ kind: 'error', reason: 'listing pods app=web in shop: pods is forbidden' });
    const wrongMetric = new PodScraper({ listPods: () => Promise.resolve([pod('a', a.port)]) });
    const counter = { port: 'metrics', path: '/metrics', metric: 'requests_served_total' };
    const r = await wrongMetric.rate(query(0, { counter }));
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.reason).toContain(
      `pod web-a http://127.0.0.1:${a.port}/metrics: no requests_served_total`,
    );
    const noPort = new PodScraper({ listPods: () => Promise.resolve([pod('a', a.port)]) });
    const r2 = await noPort.rate(query(0, { counter: { ...counter, port: 'admin' } }));
    expect(r2.kind === 'error' && r2.reason).toContain('pod web-a has no container port named admin');
    const byNumber = new PodScraper({ listPods: () => Promise.resolve([pod('a', 1)]) });
    const r3 = await byNumber.rate(
      query(0, { counter: { port: a.port, path: '/metrics', metric: 'http_requests_total' } }),
    );
    expect(r3).toMatchObject({ kind: 'no-data' }); // read fine by number (first reading)
  });

  it('refuses an answer larger than maxBytes and a counter that is not a count', async () => {
    const big = await podServer(() => `http_requests_total ${'1'.repeat(10)}\n# ${'x'.repeat(5000)}\n`);
    const neg = await podServer(() => 'http_requests_total -5\n');
    const scraper = new PodScraper({ listPods: () => Promise.resolve([pod('a', big.port)]), maxBytes: 1000 });
    const r = await scraper.rate(query(0));
    expect(r.kind === 'error' && r.reason).toMatch(/bytes > 1000/);
    const negative = new PodScraper({ listPods: () => Promise.resolve([pod('a', neg.port)]) });
    const r2 = await negative.rate(query(0));
    expect(r2.kind === 'error' && r2.reason).toContain('http_requests_total = -5 is not a count');
  });

  it("the controller's scraper lists the target's pods from the apiserver's watch cache (resourceVersion 0)", async () => {
    const asked: unknown[] = [];
    const core = {
      listNamespacedPod: (req: unknown) => {
        asked.push(req);
        return Promise.resolve({ items: [] });
      },
    } as unknown as KubeClients['core'];
    expect(await kubernetesPodScraper({ core }).rate(query(0))).toMatchObject({ kind: 'no-data' });
    expect(asked).toEqual([{ namespace: 'shop', labelSelector: 'app=web', resourceVersion: '0' }]);
  });
});
