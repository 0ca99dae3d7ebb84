// Benchmark: one alerting tick (evaluate the 9 built-in rules + route + queue) over many services,
// while the only receiver hangs (every send waits until its timeout). Target: ≤ 50 ms per tick for
// 10,000 instances, so a 1 s control loop is never held up by alerting or by a dead mail server.
// Run: npm run bench -- bench/alerts.ts [--services 500] [--instances 20] [--ticks 60]
import { parseArgs } from 'node:util';
import { parseAlertConfig } from '../src/alerting/config.ts';
import { createAlerting } from '../src/alerting/runtime.ts';
import type { ServiceSnapshot } from '../src/alerting/types.ts';
import { systemClock } from '../src/ports/clock.ts';
import type { Notification, Notifier } from '../src/ports/notifier.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '500' },
    instances: { type: 'string', default: '20' },
    ticks: { type: 'string', default: '60' },
  },
});
const services = Number(values.services);
const perService = Number(values.instances);
const ticks = Number(values.ticks);

/** A receiver that never answers: each send waits for the abort (the dispatcher's guard). */
class HungNotifier implements Notifier {
  readonly kind = 'webhook';
  readonly receiver = 'hook';
  sends = 0;
  send(_n: Notification, signal: AbortSignal): Promise<void> {
    this.sends++;
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const cfg = parseAlertConfig({
  receivers: [{ name: 'hook', webhook: { url: 'http://127.0.0.1:9/h' } }],
  route: { groupWait: '0s', groupInterval: '1s', groupBy: ['alertname', 'service'] },
  delivery: { queueSize: 1000 },
});
const hung = new HungNotifier();
let now = 1_700_000_000;
const alerting = createAlerting(cfg, { notifiers: [hung], clock: { ...systemClock, now: () => now } });

// Deterministic load: a third of the instances run hot (CPU alerts), every 7th service cannot fit.
function snapshots(tick: number): ServiceSnapshot[] {
  return Array.from({ length: services }, (_, s) => ({
    service: `svc-${s}`,
    time: now,
    instances: Array.from({ length: perService }, (_, i) => ({
      id: `svc-${s}-${i}`,
      cpuUtilization: (i + s) % 3 === 0 ? 0.95 : 0.4 + ((i * 7 + tick) % 10) / 100,
      memoryUtilization: 0.5,
      restarts: (i + s) % 11 === 0 ? Math.floor(tick / 5) : 0,
    })),
    desired: 20,
    current: 20,
    ready: 20,
    min: 2,
    max: 20,
    needed: s % 7 === 0 ? 25 : 18,
    fits: s % 7 !== 0,
    demandRps: 1000,
    demandTrendRpsPerSec: s % 5 === 0 ? 0.5 : -0.1,
    latencyMs: 80,
    slo: { latencyMs: 100, percentile: 99 },
    sloBadFraction: 0.005,
    errorRate: 0.001,
  }));
}

const wall: number[] = [];
const cpu: number[] = [];
let firing = 0;
for (let t = 0; t < ticks; t++) {
  const snaps = snapshots(t); // built outside the timed part: that is the producer's cost
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  alerting.tick(snaps, now);
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  firing = alerting.status().alerts.filter((a) => a.state === 'firing').length;
  now += 10; // 10 s ticks: the 5 m `for` rules fire after 30 ticks
  await new Promise((r) => setImmediate(r)); // let the dispatcher start its (hung) sends
}
const stats = alerting.dispatcher.stats();
await alerting.close();

const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const fmt = (x: number): string => x.toFixed(2);
console.log(
  JSON.stringify(
    {
      services,
      instances: services * perService,
      rules: cfg.rules.length,
      ticks,
      firingAtEnd: firing,
      tickWallMs: { p50: fmt(q(wall, 0.5)), p95: fmt(q(wall, 0.95)), max: fmt(Math.max(...wall)) },
      tickCpuMs: { p50: fmt(q(cpu, 0.5)), p95: fmt(q(cpu, 0.95)) },
      delivery: { sendsStarted: hung.sends, queued: stats.queued, coalesced: stats.coalesced, dropped: stats.dropped },
    },
    null,
    2,
  ),
);
