// The dashboard's routes through fastify inject: page, assets, API, SSE, auth and write actions.
import { createContext, runInContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildStatusApp } from '../../src/server/server.ts';
import { dashboard, type DashboardOptions } from '../../src/server/dashboard/plugin.ts';
import { inlineChartAssets } from '../../src/server/dashboard/assets.ts';
import { MIN_TOKEN_LENGTH } from '../../src/server/dashboard/auth.ts';
import { history, snapshot, webModel } from './fixtures.ts';
import type { StatusSnapshot } from '../../src/server/status.ts';

const TOKEN = 'tok-'.padEnd(MIN_TOKEN_LENGTH + 4, 'x');
let apps: FastifyInstance[] = [];

async function appWith(opts: Partial<DashboardOptions> = {}, snap: () => StatusSnapshot = () => snapshot()) {
  const app = buildStatusApp({ status: snap, plugins: [dashboard({ status: snap, ...opts })] });
  apps.push(app);
  await app.ready();
  return app;
}

afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

describe('dashboard plugin', () => {
  it('serves the page with a strict CSP and every asset it references', async () => {
    const app = await appWith({ title: 'Shop <prod>' });
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<title>Shop &lt;prod&gt;</title>');
    const refs = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(5);
    for (const ref of new Set(refs)) {
      const r = await app.inject({ url: ref });
      expect(r.statusCode, ref).toBe(200);
      expect(r.body.length, ref).toBeGreaterThan(100);
    }
    expect((await app.inject({ url: '/assets/uPlot.iife.min.js' })).headers['content-type']).toContain('javascript');
    expect((await app.inject({ url: '/assets/..%2fplugin.ts' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/assets/nope.js' })).statusCode).toBe(404);
  });

  it('/api/services returns every snapshot and the flags', async () => {
    const two = () => [snapshot(), snapshot({ service: { ...snapshot().service, name: 'api' } })];
    const app = buildStatusApp({ status: () => snapshot(), plugins: [dashboard({ status: two })] });
    apps.push(app);
    const r = await app.inject({ url: '/api/services' });
    const body = r.json();
    expect(body.services.map((s: StatusSnapshot) => s.service.name)).toEqual(['web', 'api']);
    expect(body.allowWrite).toBe(false);
    expect(body.whatIf).toBe(false);
  });

  it('with pricing in the model: the cost per month of the running and the desired count; without, no cost', async () => {
    const priced = webModel({
      instance: { serviceTimeMs: 50, concurrency: 4, cpu: '500m', memory: '1Gi' },
      pricing: { currency: 'USD', cpuHour: 0.0316, memoryGiBHour: 0.0042 },
    });
    const snap = () => snapshot({ replicas: { desired: 5, current: 4, ready: 4, min: 1, max: 8, fitLimit: 6 } });
    const app = await appWith({ models: () => [priced] }, snap);
    const cost = (await app.inject({ url: '/api/services' })).json().services[0].cost;
    // 0.5 × 0.0316 + 1 × 0.0042 = 0.02 an instance-hour: 4 × 0.02 × 730 = 58.4, 5 × … = 73
    expect(cost.currency).toBe('USD');
    expect(cost.perInstanceHour).toBeCloseTo(0.02, 12);
    expect(cost.currentPerMonth).toBeCloseTo(58.4, 9);
    expect(cost.desiredPerMonth).toBeCloseTo(73, 9);
    const plain = await appWith({ models: () => [webModel()] }, snap);
    expect((await plain.inject({ url: '/api/services' })).json().services[0]).not.toHaveProperty('cost');
    // The page's texts for it, from the panels.js the server sends (run without a DOM).
    const page = await app.inject({ url: '/assets/panels.js' });
    const ctx = createContext({});
    runInContext(page.body, ctx);
    const panels = (ctx as { HeadroomPanels: { costText(c: unknown): string; costTitle(c: unknown): string } })
      .HeadroomPanels;
    expect(panels.costText(cost)).toBe('58.40 USD now, 73.00 USD at desired');
    expect(panels.costTitle(cost)).toBe('0.02 USD per instance-hour × 730 h a month');
  });

  it('alerts are passed through as a list, from a status object or a list', async () => {
    const alert = {
      fingerprint: 'f',
      rule: 'SloBurn',
      state: 'firing',
      labels: { service: 'web' },
      annotations: {},
      value: 2,
      activeAt: 1,
      lastTrueAt: 2,
    } as const;
    const a1 = await appWith({ alerts: () => [alert] });
    expect((await a1.inject({ url: '/api/services' })).json().alerts).toEqual([alert]);
    const a2 = await appWith({
      alerts: () => ({ alerts: [alert], delivery: {} as never, groups: [] }),
    });
    expect((await a2.inject({ url: '/api/services' })).json().alerts).toEqual([alert]);
  });

  it('SSE: the first event has the whole history, later ones only new points', async () => {
    let h = history(5);
    const app = buildStatusApp({
      status: () => snapshot({ history: h }),
      plugins: [dashboard({ status: () => snapshot({ history: h }), pushIntervalMs: 50 })],
    });
    apps.push(app);
    const addr = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${addr}/api/events`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    // The stream writes its own head (hijacked reply): it must carry nosniff too.
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const reader = res.body!.getReader();
    const events: { seq: number; full: boolean; services: StatusSnapshot[] }[] = [];
    let buf = '';
    const dec = new TextDecoder();
    while (events.length < 4) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = /^data: (.*)$/m.exec(block);
        if (/^event: snapshot$/m.test(block) && data) events.push(JSON.parse(data[1]!));
      }
      if (events.length === 1) h = history(8); // three newer ticks arrive
    }
    await reader.cancel();
    expect(events[0]!.full).toBe(true);
    expect(events[0]!.services[0]!.history).toHaveLength(5);
    const later = events.slice(1).flatMap((e) => e.services[0]!.history.map((p) => p.t));
    expect(events.slice(1).every((e) => !e.full)).toBe(true);
    expect(later).toEqual(
      history(8)
        .slice(5)
        .map((p) => p.t),
    );
  });

  it('SSE: a failing status source sends a problem event and the stream stays open', async () => {
    let fail = true;
    const status = (): StatusSnapshot => {
      if (fail) throw new Error('cluster is stopping');
      return snapshot();
    };
    const app = buildStatusApp({ status, plugins: [dashboard({ status, pushIntervalMs: 50 })] });
    apps.push(app);
    const addr = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${addr}/api/events`);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    while (!/event: snapshot/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
      if (/event: problem/.test(text)) fail = false;
    }
    await reader.cancel();
    expect(text).toMatch(/event: problem\ndata: \{"message":"Error: cluster is stopping"\}/);
    expect(text).not.toMatch(/event: error/);
    expect(text).toMatch(/event: snapshot/);
  });

  it('what-if: plans with the model, 404 without models, 400 on bad input', async () => {
    const none = await appWith();
    expect((await none.inject({ method: 'POST', url: '/api/what-if', payload: {} })).statusCode).toBe(404);
    const app = await appWith({ models: () => [webModel()] });
    const low = (await app.inject({ method: 'POST', url: '/api/what-if', payload: { demandRps: 40 } })).json();
    const high = (await app.inject({ method: 'POST', url: '/api/what-if', payload: { demandRps: 400 } })).json();
    expect(high.plan.replicas).toBeGreaterThan(low.plan.replicas);
    expect(high.explanation.length).toBeGreaterThan(1);
    const bad = await app.inject({ method: 'POST', url: '/api/what-if', payload: { demandRps: 'lots' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('demandRps');
    const other = await app.inject({ method: 'POST', url: '/api/what-if', payload: { service: 'nope' } });
    expect(other.statusCode).toBe(404);
    expect(other.json().allowed).toEqual(['web']);
  });

  it('read-only unless allowWrite: actions answer 403 and nothing is called', async () => {
    const calls: unknown[] = [];
    const actions = { setShadow: (s: string, on: boolean) => void calls.push([s, on]) };
    const ro = await appWith({ actions });
    const r = await ro.inject({ method: 'POST', url: '/api/actions/shadow', payload: { shadow: true } });
    expect(r.statusCode).toBe(403);
    expect(calls).toEqual([]);
    const rw = await appWith({ actions, allowWrite: true });
    const ok = await rw.inject({ method: 'POST', url: '/api/actions/shadow', payload: { shadow: true } });
    expect(ok.statusCode).toBe(200);
    expect(calls).toEqual([['web', true]]);
    const bad = await rw.inject({ method: 'POST', url: '/api/actions/shadow', payload: { shadow: 'yes' } });
    expect(bad.statusCode).toBe(400);
    const unknown = await rw.inject({
      method: 'POST',
      url: '/api/actions/shadow',
      payload: { service: 'x', shadow: true },
    });
    expect(unknown.statusCode).toBe(404);
    const pause = await rw.inject({ method: 'POST', url: '/api/actions/pause', payload: { paused: true } });
    expect(pause.statusCode).toBe(501); // no setPaused given
    expect(calls).toHaveLength(1);
  });

  it('a non-loopback listenHost without a token refuses to start (HR_TOKEN_REQUIRED)', async () => {
    const app = buildStatusApp({
      status: () => snapshot(),
      plugins: [dashboard({ status: () => snapshot(), listenHost: '0.0.0.0' })],
    });
    apps.push(app);
    await expect(app.ready()).rejects.toMatchObject({ code: 'HR_TOKEN_REQUIRED' });
  });

  it('with a token every route but /healthz needs it, /api/status and /metrics included', async () => {
    const app = await appWith({ listenHost: '0.0.0.0', token: TOKEN });
    for (const url of ['/', '/api/services', '/api/status', '/assets/app.js', '/metrics']) {
      expect((await app.inject({ url })).statusCode, url).toBe(401);
      expect((await app.inject({ url, headers: { authorization: 'Bearer wrong-token-wrong' } })).statusCode).toBe(401);
    }
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const bearer = await app.inject({ url: '/api/status', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.statusCode).toBe(200);
    const page = await app.inject({ url: `/?token=${TOKEN}` });
    expect(page.statusCode).toBe(200);
    // The page's asset URLs carry the token (script tags cannot send headers).
    expect(page.body).toContain(`/assets/app.js?token=${TOKEN}`);
    expect((await app.inject({ url: `/assets/app.js?token=${TOKEN}` })).statusCode).toBe(200);
  });

  it('state-changing requests from another origin: 403 with a JSON error, token or not', async () => {
    const calls: unknown[] = [];
    const actions = { setShadow: (s: string, on: boolean) => void calls.push([s, on]) };
    const host = '127.0.0.1:9090';
    for (const opts of [{}, { listenHost: '0.0.0.0', token: TOKEN }]) {
      const app = await appWith({ actions, allowWrite: true, models: () => [webModel()], ...opts });
      const auth = 'token' in opts ? { authorization: `Bearer ${TOKEN}` } : {};
      const post = (url: string, origin: string | undefined, payload: object) =>
        app.inject({
          method: 'POST',
          url,
          payload,
          headers: { host, ...auth, ...(origin !== undefined ? { origin } : {}) },
        });
      for (const origin of ['http://evil.example', 'null', 'http://127.0.0.1:9091', 'http://127.0.0.1']) {
        const r = await post('/api/actions/shadow', origin, { shadow: true });
        expect(r.statusCode, origin).toBe(403);
        expect(r.json()).toMatchObject({ error: 'forbidden' });
        expect(r.json().message).toContain('cross-origin POST refused');
        expect((await post('/api/what-if', origin, { demandRps: 10 })).statusCode, origin).toBe(403);
      }
      expect(calls).toEqual([]);
      // The page's own origin, and clients that send no Origin (curl), pass.
      expect((await post('/api/actions/shadow', `http://${host}`, { shadow: true })).statusCode).toBe(200);
      expect((await post('/api/actions/shadow', undefined, { shadow: false })).statusCode).toBe(200);
      expect(calls).toEqual([
        ['web', true],
        ['web', false],
      ]);
      calls.length = 0;
      // Reads are not state-changing: a GET with a foreign Origin is answered (CORS keeps it unreadable).
      const get = await app.inject({ url: '/api/services', headers: { host, ...auth, origin: 'http://evil.example' } });
      expect(get.statusCode).toBe(200);
    }
  });

  it('every answer carries X-Content-Type-Options: nosniff (JSON API, errors, page; the event stream above)', async () => {
    const app = await appWith({ listenHost: '0.0.0.0', token: TOKEN });
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const [url, headers, code] of [
      ['/api/status', auth, 200],
      ['/api/services', auth, 200],
      ['/metrics', auth, 404],
      ['/', auth, 200],
      ['/api/status', {}, 401],
      ['/healthz', {}, 200],
    ] as const) {
      const r = await app.inject({ url, headers });
      expect(r.statusCode, url).toBe(code);
      expect(r.headers['x-content-type-options'], url).toBe('nosniff');
    }
  });

  it('open on loopback, but only for loopback Host names (no DNS rebinding)', async () => {
    const app = await appWith();
    expect((await app.inject({ url: '/api/services', headers: { host: '127.0.0.1:9090' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/services', headers: { host: 'localhost:9090' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/services', headers: { host: '[::1]:9090' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/', headers: { host: 'evil.example:9090' } })).statusCode).toBe(403);
  });

  it('inlineChartAssets() is one self-contained block with uPlot and the chart components', () => {
    const html = inlineChartAssets();
    expect(html).toContain('HeadroomCharts');
    expect(html).toContain('demandCapacityChart');
    expect(html).toMatch(/^<style>/);
    expect(html).not.toMatch(/<script[^>]+src=/);
    // Only our own two closing tags end a script (uPlot's and charts.js).
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
});
