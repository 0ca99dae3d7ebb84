// Benchmark of the `headroom loadtest` generator (run by hand, not in `npm test`):
//
//   node --disable-warning=ExperimentalWarning bench/loadtest.ts [--duration 10] [--connections 50]
//        [--rates 1000,5000,10000] [--rounds 3]
//
// Target: the example service with WORK_MS=0 (answers at once) in its own process.
// 1. Maximum throughput, same target, same connection count: headroom's open-loop generator asked for
//    far more than the target can serve (the in-flight bound turns the excess into drops), autocannon
//    (npm, closed loop) and wrk (Debian, closed loop, C). Goal: headroom ≥ 1.0× autocannon.
// 2. Rate accuracy: asked vs achieved (responses completed inside the hold window per second) at
//    three fixed rates. Goal: within ±1 %.
// The three generators take turns, `rounds` times, and the median of each is compared: on a shared
// machine the load of the neighbours changes from one run to the next. Each run also reports the
// generator's own CPU time per request (µs; from process.cpuUsage, or the waited-for child's
// cutime+cstime in /proc/self/stat): what a generator costs, whatever the target and the neighbours do.
// Prints a markdown table for docs/benchmarks.md and one JSON line with every number.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createClient, runStep } from '../src/loadtest/generator.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rates: { type: 'string', default: '1000,5000,10000' },
    rounds: { type: 'string', default: '3' },
  },
});
const durationS = Number(values.duration);
const connections = Number(values.connections);
const rates = values.rates.split(',').map(Number);
const rounds = Number(values.rounds);
const root = fileURLToPath(new URL('..', import.meta.url));

// The target, in its own process (it gets one core, the generator the other).
const svc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'examples/service.ts'], {
  cwd: root,
  env: { ...process.env, PORT: '0', WORK_MS: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  svc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /"url":"([^"]+)"/.exec(out);
    if (m?.[1]) resolve(`${m[1]}/`);
  });
  svc.on('exit', (c) => reject(new Error(`service exited ${c}`)));
});
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of this process's waited-for children so far (fields 16–17 of /proc/self/stat, 100 Hz ticks). */
function childrenCpuS(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

interface MaxRun {
  rps: number;
  /** Generator CPU µs per request (all requests of the run, warm-up included). */
  cpuUs: number;
}

async function headroomMax(): Promise<MaxRun> {
  const pool = createClient(new URL(url), { connections });
  const cpu0 = process.cpuUsage();
  // Ask for 10× more than any node target serves; `maxInFlight` = connections keeps it fair.
  const m = await runStep(
    pool,
    { url: new URL(url), method: 'GET', headers: {}, timeoutMs: 5000 },
    {
      rateRps: 200_000,
      warmupS: 1,
      holdS: durationS,
      maxInFlight: connections,
      lateThresholdMs: 10,
    },
  );
  const cpu = process.cpuUsage(cpu0);
  await pool.destroy();
  return { rps: m.achievedRps, cpuUs: (cpu.user + cpu.system) / Math.max(1, m.totalSent) };
}

function autocannonMax(): MaxRun {
  const cpu0 = childrenCpuS();
  const out = execFileSync(
    process.execPath,
    [`${root}node_modules/autocannon/autocannon.js`, '-c', String(connections), '-d', String(durationS), '-j', url],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const j = JSON.parse(out) as { requests: { total: number }; duration: number; non2xx: number };
  return { rps: j.requests.total / j.duration, cpuUs: ((childrenCpuS() - cpu0) * 1e6) / j.requests.total };
}

function wrkMax(): MaxRun | undefined {
  try {
    execFileSync('bash', [`${root}scripts/install-debs.sh`, 'wrk'], { stdio: 'inherit' });
    const cpu0 = childrenCpuS();
    const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${durationS}s`, url], { encoding: 'utf8' });
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const total = /(\d+) requests in/.exec(out);
    return m?.[1] && total?.[1]
      ? { rps: Number(m[1]), cpuUs: ((childrenCpuS() - cpu0) * 1e6) / Number(total[1]) }
      : undefined;
  } catch (err) {
    process.stderr.write(`wrk not run: ${(err as Error).message}\n`);
    return undefined;
  }
}

async function accuracy(rate: number) {
  const pool = createClient(new URL(url), { connections });
  const m = await runStep(
    pool,
    { url: new URL(url), method: 'GET', headers: {}, timeoutMs: 5000 },
    {
      rateRps: rate,
      warmupS: 1,
      holdS: durationS,
      maxInFlight: 1000,
      lateThresholdMs: 10,
    },
  );
  await pool.destroy();
  return {
    askedRps: rate,
    achievedRps: m.achievedRps,
    sentRps: m.sentRps,
    errorPct: ((m.achievedRps - rate) / rate) * 100,
    late: m.late,
    dropped: m.dropped,
    p50Ms: m.histogram.getValueAtPercentile(50) / 1000,
    p99Ms: m.histogram.getValueAtPercentile(99) / 1000,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

try {
  const all = { headroom: [] as MaxRun[], autocannon: [] as MaxRun[], wrk: [] as MaxRun[] };
  for (let i = 0; i < rounds; i++) {
    all.headroom.push(await headroomMax());
    await pause(1000);
    all.autocannon.push(autocannonMax());
    await pause(1000);
    const w = wrkMax();
    if (w !== undefined) all.wrk.push(w);
    await pause(1000);
    process.stderr.write(`round ${i + 1}: ${JSON.stringify(all)}\n`);
  }
  const runs = {
    headroom: all.headroom.map((r) => r.rps),
    autocannon: all.autocannon.map((r) => r.rps),
    wrk: all.wrk.map((r) => r.rps),
  };
  const cpuUs = {
    headroom: median(all.headroom.map((r) => r.cpuUs)),
    autocannon: median(all.autocannon.map((r) => r.cpuUs)),
    wrk: all.wrk.length ? median(all.wrk.map((r) => r.cpuUs)) : undefined,
  };
  const headroom = median(runs.headroom);
  const autocannon = median(runs.autocannon);
  const wrk = runs.wrk.length ? median(runs.wrk) : undefined;
  const acc = [];
  for (const r of rates) {
    acc.push(await accuracy(r));
    await pause(500);
  }
  const f = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(0));
  const lines = [
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; ${connections} connections, ${durationS} s per run, median of ${rounds} alternating rounds`,
    '',
    '| generator | max throughput (rps), median | vs autocannon | each round | generator CPU µs/request, median |',
    '|---|---:|---:|---|---:|',
    `| headroom (open loop, raw-socket HTTP/1.1, asked 200k rps, in-flight ≤ ${connections}) | ${f(headroom)} | ${(headroom / autocannon).toFixed(2)}× | ${runs.headroom.map(f).join(', ')} | ${cpuUs.headroom.toFixed(1)} |`,
    `| autocannon 9 (closed loop) | ${f(autocannon)} | 1.00× | ${runs.autocannon.map(f).join(', ')} | ${cpuUs.autocannon.toFixed(1)} |`,
    `| wrk (closed loop, 1 thread) | ${f(wrk)} | ${wrk ? (wrk / autocannon).toFixed(2) : 'n/a'}× | ${runs.wrk.map(f).join(', ')} | ${cpuUs.wrk?.toFixed(1) ?? 'n/a'} |`,
    '',
    '| asked rps | achieved rps | error | sent rps | late sends | dropped | p50 ms | p99 ms |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...acc.map(
      (a) =>
        `| ${a.askedRps} | ${a.achievedRps.toFixed(1)} | ${a.errorPct >= 0 ? '+' : ''}${a.errorPct.toFixed(2)} % | ${a.sentRps.toFixed(1)} | ${a.late} | ${a.dropped} | ${a.p50Ms.toFixed(2)} | ${a.p99Ms.toFixed(2)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ runs, cpuUs, headroom, autocannon, wrk, accuracy: acc })}\n`);
} finally {
  svc.kill('SIGTERM');
}
