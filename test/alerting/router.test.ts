import { describe, expect, it } from 'vitest';
import { parseAlertConfig, type Route } from '../../src/alerting/config.ts';
import { fingerprint } from '../../src/alerting/engine.ts';
import { Router, matchRoutes, type ReceiverTraits } from '../../src/alerting/router.ts';
import type { Alert } from '../../src/alerting/types.ts';

function alert(name: string, service: string, state: Alert['state'], extra: Record<string, string> = {}): Alert {
  const labels = { alertname: name, service, severity: 'warning', ...extra };
  return {
    fingerprint: fingerprint(labels),
    rule: name,
    state,
    labels,
    annotations: { summary: `${name} on ${service}` },
    value: 1,
    activeAt: 0,
    lastTrueAt: 0,
    firedAt: 0,
    ...(state === 'resolved' ? { resolvedAt: 1 } : {}),
  };
}

function routeOf(raw: unknown): Route {
  const r = parseAlertConfig(raw).route;
  if (!r) throw new Error('no route');
  return r;
}

const hooks = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: `r${i}`, webhook: { url: `http://127.0.0.1:9/${i}` } }));
const traits = (m: Record<string, ReceiverTraits>) => new Map(Object.entries(m));

describe('Router (Alertmanager semantics, fake clock)', () => {
  const route = routeOf({
    receivers: hooks(1),
    route: { receiver: 'r0', groupBy: ['service'], groupWait: '30s', groupInterval: '5m', repeatInterval: '1h' },
  });

  it('group_wait batches a burst into one notification per group', () => {
    const r = new Router(route, traits({ r0: { sendResolved: true } }));
    r.ingest([alert('Cpu', 'a', 'firing')], 0);
    r.ingest([alert('Cpu', 'a', 'firing'), alert('Mem', 'a', 'firing'), alert('Cpu', 'b', 'firing')], 10);
    expect(r.flush(29)).toEqual([]); // still waiting
    const out = r.flush(30); // group a waited 30 s (created at 0); b was created at 10
    expect(out.map((n) => [n.groupLabels.service, n.alerts.map((a) => a.labels.alertname).sort()])).toEqual([
      ['a', ['Cpu', 'Mem']],
    ]);
    expect(out[0]).toMatchObject({
      status: 'firing',
      receiver: 'r0',
      commonLabels: { service: 'a', severity: 'warning' },
    });
    expect(r.flush(40).map((n) => n.groupLabels.service)).toEqual(['b']);
  });

  it('de-duplicates unchanged groups until repeat_interval; a change goes out at the next group_interval', () => {
    const r = new Router(route, traits({ r0: { sendResolved: true } }));
    const fire = (t: number, ...as: Alert[]) => {
      r.ingest(as, t);
      return r.flush(t);
    };
    expect(fire(0, alert('Cpu', 'a', 'firing'))).toHaveLength(0);
    expect(fire(30, alert('Cpu', 'a', 'firing'))).toHaveLength(1);
    expect(fire(330, alert('Cpu', 'a', 'firing'))).toHaveLength(0); // group_interval, nothing new: dedup
    const withNew = fire(400, alert('Cpu', 'a', 'firing'), alert('Mem', 'a', 'firing'));
    expect(withNew).toHaveLength(0); // new alert waits for the group_interval tick (630)
    expect(fire(630, alert('Cpu', 'a', 'firing'), alert('Mem', 'a', 'firing'))[0]?.alerts).toHaveLength(2);
    let repeats = 0;
    for (let t = 660; t <= 630 + 3600; t += 30)
      repeats += fire(t, alert('Cpu', 'a', 'firing'), alert('Mem', 'a', 'firing')).length;
    expect(repeats).toBe(1); // exactly one repeat after repeat_interval (1 h)
  });

  it('sends a resolved notice once, then forgets the alert and the empty group', () => {
    const r = new Router(route, traits({ r0: { sendResolved: true } }));
    r.ingest([alert('Cpu', 'a', 'firing')], 0);
    expect(r.flush(30)).toHaveLength(1);
    r.ingest([alert('Cpu', 'a', 'resolved')], 100);
    expect(r.flush(100)).toHaveLength(0); // waits for group_interval
    const out = r.flush(330);
    expect(out[0]).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved', endsAt: 1 }] });
    expect(r.snapshot()).toEqual([]);
    expect(r.flush(10_000)).toEqual([]);
  });

  it('sendResolved: false sends no resolved notice', () => {
    const r = new Router(route, traits({ r0: { sendResolved: false } }));
    r.ingest([alert('Cpu', 'a', 'firing')], 0);
    r.flush(30);
    r.ingest([alert('Cpu', 'a', 'resolved')], 60);
    expect(r.flush(330)).toEqual([]);
  });

  it('ignores pending alerts and resolved alerts it never saw firing', () => {
    const r = new Router(route, traits({ r0: { sendResolved: true } }));
    r.ingest([alert('Cpu', 'a', 'pending'), alert('Mem', 'a', 'resolved')], 0);
    expect(r.flush(1000)).toEqual([]);
  });

  it('an alert that fires and resolves within group_wait is never notified: no "resolved" for nothing', () => {
    const r = new Router(route, traits({ r0: { sendResolved: true } }));
    r.ingest([alert('Cpu', 'a', 'firing')], 0);
    r.ingest([alert('Cpu', 'a', 'resolved')], 10);
    expect(r.flush(40)).toEqual([]);
    expect(r.snapshot()).toEqual([]);
    // One that was notified firing still gets its resolved notice, alongside a new firing one.
    r.ingest([alert('Mem', 'b', 'firing')], 100);
    expect(r.flush(130)).toHaveLength(1);
    r.ingest([alert('Mem', 'b', 'resolved'), alert('Disk', 'b', 'firing')], 200);
    const out = r.flush(430);
    expect(out[0]?.alerts.map((a) => `${a.labels.alertname} ${a.status}`).sort()).toEqual([
      'Disk firing',
      'Mem resolved',
    ]);
  });

  it('matchers, nested routes and continue', () => {
    const tree = routeOf({
      receivers: hooks(4),
      route: {
        receiver: 'r0',
        routes: [
          { matchers: ['severity="critical"'], receiver: 'r1', continue: true },
          {
            matchers: ['service=~"pay|checkout"'],
            receiver: 'r2',
            routes: [{ matchers: ['alertname!="Cpu"'], receiver: 'r3' }],
          },
        ],
      },
    });
    const recv = (labels: Record<string, string>) => matchRoutes(tree, labels).map((m) => m.route.receiver);
    expect(recv({ severity: 'critical', service: 'pay', alertname: 'Mem' })).toEqual(['r1', 'r3']);
    expect(recv({ severity: 'critical', service: 'web', alertname: 'Cpu' })).toEqual(['r1']);
    expect(recv({ severity: 'warning', service: 'checkout', alertname: 'Cpu' })).toEqual(['r2']);
    expect(recv({ severity: 'warning', service: 'web', alertname: 'Cpu' })).toEqual(['r0']);
  });

  it('stream receivers (Alertmanager) get each alert at once, re-sent every resend interval', () => {
    const r = new Router(route, traits({ r0: { sendResolved: true, resendIntervalSeconds: 60 } }));
    r.ingest([alert('Cpu', 'a', 'firing'), alert('Mem', 'a', 'firing')], 0);
    expect(r.flush(0).map((n) => n.alerts.length)).toEqual([1, 1]); // no group_wait, one alert each
    r.ingest([alert('Cpu', 'a', 'firing'), alert('Mem', 'a', 'firing')], 30);
    expect(r.flush(30)).toEqual([]);
    expect(r.flush(60)).toHaveLength(2); // re-sent after 60 s
    r.ingest([alert('Cpu', 'a', 'resolved')], 70);
    expect(r.flush(70).map((n) => n.alerts[0]?.status)).toEqual(['resolved']); // at once
  });
});
