// `headroom loadtest URL --slo-latency-ms N --slo-percentile P`: measure one instance's capacity
// under its SLO with an open-loop generator, fit serviceTimeMs/concurrency, write the profile and
// report. Wiring only: the generator, search, fit and report live in src/loadtest/.
//
// Exit codes: 0 knee found; 2 bad input, unreachable target or no knee (HR_LOADTEST_TARGET,
// HR_LOADTEST_TIMEOUT, HR_LOADTEST_ERROR_RATE, HR_LOADTEST_NO_KNEE); 3 stopped early (Ctrl-C,
// --max-duration, --max-requests: HR_LOADTEST_ABORTED, partial output written).
// The flags are parsed and checked in loadtest-config.ts.
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { availableParallelism, hostname, networkInterfaces } from 'node:os';
import type { Command } from 'commander';
import { HeadroomError, formatProblem, redactUrl } from '../core/errors.ts';
import { fitQueueModel } from '../loadtest/fit.ts';
import { createClient, describeKind, probe, runStep, type ErrorKind, type ProbeResult } from '../loadtest/generator.ts';
import {
  buildProfile,
  buildResult,
  generatorCpuWarning,
  isLocalHost,
  probeDistributionWarning,
  type LoadtestResult,
} from '../loadtest/output.ts';
import { StepProgress, renderTable, stepLine } from '../loadtest/output-text.ts';
import { loadReportAssets, renderReport } from '../loadtest/report.ts';
import { noStepReason, searchCapacity, type SearchPlan, type SearchResult } from '../loadtest/search.ts';
import type { QueueFit } from '../loadtest/fit.ts';
import { PROBE_REQUESTS, parseConfig, probeBounds, type RawOptions } from './loadtest-config.ts';
import { distributionIssue, serviceTimeStats } from '../loadtest/service-time.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export { PROBE_MAX_MS, PROBE_REQUESTS, parseConfig, probeBounds } from './loadtest-config.ts';

export function register(program: Command): void {
  program
    .command('loadtest')
    .description(
      'measure one instance: open-loop stepped load until the SLO breaks, fit serviceTimeMs/concurrency, write a capacity profile for `plan`',
    )
    .argument('<url>', 'target URL (http:// or https://), e.g. http://127.0.0.1:8080/work')
    .requiredOption('--slo-latency-ms <ms>', 'latency SLO in milliseconds')
    .option('--slo-percentile <p>', 'SLO percentile, a percent: 50 ≤ P < 100 (99 for p99)', '99')
    .option('--start-rps <rps>', 'first step rate', '10')
    .option('--factor <f>', 'geometric step factor (> 1; default 1.5)')
    .option('--increment-rps <rps>', 'linear steps of this size instead of --factor')
    .option('--max-rps <rps>', 'highest rate tried', '10000')
    .option('--warmup <s>', 'warm-up seconds per step (not measured)', '2')
    .option('--hold <s>', 'measured seconds per step', '5')
    .option('--refine <n>', 'bisection steps between the last good and first bad rate', '3')
    .option('--cooldown <s>', 'pause between steps', '0.5')
    .option('--max-error-rate <pct>', 'error-rate limit of a good step, percent (errors + drops)', '1')
    .option('--max-duration <s>', 'hard bound on the whole run, seconds', '300')
    .option('--max-requests <n>', 'hard bound on requests sent in the whole run', '1000000')
    .option('--max-in-flight <n>', 'outstanding requests at most; further due requests are dropped', '512')
    .option('--connections <n>', 'keep-alive sockets at most (default: --max-in-flight)')
    .option('--timeout <ms>', 'per-request timeout', '5000')
    .option('--late-ms <ms>', 'a send this late after its intended time counts as late', '10')
    .option(
      '--probe-requests <n>',
      'sequential requests measuring the service-time distribution (≤ 20 s and 10 % of --max-duration/--max-requests; 0 = none)',
      String(PROBE_REQUESTS),
    )
    .option('-X, --method <method>', 'HTTP method', 'GET')
    .option('-H, --header <header>', "request header 'Name: value' (repeatable)", collect, [])
    .option('--body <text>', 'request body')
    .option('--body-file <path>', 'request body from a file')
    .option('--json', 'print the result as JSON on stdout (table goes to stderr)')
    .option('--profile <file>', 'write the capacity profile (for `plan`: instance.profile)')
    .option('--report <file>', 'write a self-contained HTML report')
    .option('--no-progress', 'no progress bar or step lines on stderr')
    .action(async (url: string, raw: RawOptions) => {
      await runLoadtest(url, raw);
    });
}

async function runLoadtest(url: string, raw: RawOptions): Promise<void> {
  const cfg = parseConfig(url, raw);
  // Before minutes of load, not after: an output that cannot be written fails now.
  for (const [flag, file] of [
    ['--profile', raw.profile],
    ['--report', raw.report],
  ] as const) {
    if (file !== undefined) writable(flag, file);
  }
  const measuredAt = new Date();
  const startedAt = performance.now();
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130); // a second Ctrl-C: leave now
    process.stderr.write(`\n${sig}: stopping; writing the partial result (Ctrl-C again to quit at once)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const pool = createClient(cfg.template.url, { connections: cfg.connections });
  const tty = raw.progress && process.stderr.isTTY === true;
  const bar = tty ? new StepProgress(process.stderr) : undefined;
  const log = (line: string): void => {
    if (raw.progress) process.stderr.write(`${line}\n`);
  };

  try {
    let probeResult: ProbeResult | undefined;
    try {
      const bounds = probeBounds(cfg);
      if (tty && bounds.requests > 0) {
        log(`probe: up to ${bounds.requests} sequential requests (≤ ${(bounds.maxMs / 1000).toFixed(1)} s)…`);
      }
      probeResult = await probe(pool, cfg.template, { ...bounds, signal: ac.signal });
    } catch (err) {
      if (err instanceof HeadroomError && err.code === 'HR_LOADTEST_ABORTED') {
        reportAbort('interrupted during the probe, before any step ran; nothing written');
        return;
      }
      throw err;
    }
    const probeStats = serviceTimeStats(probeResult.latenciesMs);
    const result = (search: SearchResult, fit: QueueFit | undefined): LoadtestResult =>
      buildResult({
        target: redactUrl(cfg.template.url),
        method: cfg.template.method,
        measuredAt,
        slo: cfg.plan.slo,
        errorRateLimit: cfg.plan.errorRateLimit,
        search,
        fit,
        probe: probeResult,
        probeStats,
        host: { cores: availableParallelism(), targetIsLocal: targetIsLocal(cfg.template.url) },
      });
    const probeFailure = probeErrors(probeResult, cfg.plan.errorRateLimit);
    if (probeFailure) {
      // As for the other failures: the result (no step, no fit) on stdout with --json, the report.
      const none: SearchResult = {
        steps: [],
        kneeRps: 0,
        stopReason: 'error-rate',
        partial: false,
        kneeIsLowerBound: false,
        refineCut: false,
        requestsSent: probeResult.samples + 1,
        elapsedS: (performance.now() - startedAt) / 1000,
      };
      writeOutputs(result(none, undefined), raw, false);
      throw probeFailure;
    }
    const pm = probeResult.meanMs;
    log(
      tty
        ? pm === undefined
          ? 'probe: no request timed'
          : `probe: ${probeResult.samples} sequential requests, mean ${pm.toFixed(2)} ms${probeStats ? `, CV ${probeStats.cv.toFixed(2)}, p99 ${probeStats.quantilesMs.p99.toFixed(2)} ms` : ''}`
        : JSON.stringify({
            event: 'probe',
            meanMs: pm ?? null,
            samples: probeResult.samples,
            ...(probeStats ? { cv: probeStats.cv, quantilesMs: probeStats.quantilesMs } : {}),
          }),
    );
    let stepIndex = 0;
    const search = await searchCapacity(cfg.plan, {
      now: () => performance.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      signal: ac.signal,
      startedAt,
      requestsUsed: probeResult.samples + 1,
      cpuTimeUs: () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      },
      runStep: (rate, warmupS, holdS, limits) => {
        bar?.start(stepIndex, '', rate, warmupS + holdS);
        return runStep(pool, cfg.template, {
          rateRps: rate,
          warmupS,
          holdS,
          maxInFlight: cfg.maxInFlight,
          lateThresholdMs: cfg.lateMs,
          maxSends: limits.maxSends,
          deadline: limits.deadline,
          signal: ac.signal,
          ...(bar ? { onTick: (p) => bar.update(p.elapsedS, p.sent, p.errors) } : {}),
        });
      },
      onStep: (r, i) => {
        stepIndex = i + 1;
        bar?.stop();
        if (tty) {
          log(
            `step ${i + 1} ${r.phase} ${r.targetRps.toFixed(1)} rps: achieved ${r.achievedRps.toFixed(1)}, p${cfg.plan.slo.percentile} ${r.sloLatencyMs.toFixed(1)} ms, errors ${(r.errorRate * 100).toFixed(2)}% → ${r.sloMet ? 'ok' : `FAIL ${r.breach ?? ''}`}`,
          );
        } else log(stepLine(r, i));
      },
    });
    bar?.stop();
    // No load step answered: no fit. The probe alone gives no concurrency, and without a timed
    // probe request there is not even a service time (the untimed first one holds the connect).
    const fit = search.steps.some((s) => s.completed > 0)
      ? fitQueueModel({
          ...(pm !== undefined ? { probeMeanMs: pm } : {}),
          steps: search.steps.filter((s) => !s.cut),
          slo: cfg.plan.slo,
          // Only a stable distribution shapes the predicted knee (the same one the profile gets).
          ...(probeStats && distributionIssue(probeStats) === undefined
            ? { serviceTime: { meanMs: probeStats.meanMs, cv: probeStats.cv, quantilesMs: probeStats.quantilesMs } }
            : {}),
        })
      : undefined;
    const res = result(search, fit);
    const noKnee = !search.partial && search.kneeRps === 0;
    writeOutputs(res, raw, !noKnee);
    if (search.steps.length === 0) {
      const why = noStepReason(
        cfg.plan,
        search.stopReason,
        cfg.plan.maxDurationS - search.elapsedS,
        cfg.plan.maxRequests - search.requestsSent,
      );
      reportAbort(`stopped by ${search.stopReason} before any load step: ${why}; no knee and no fit`);
      return;
    }
    if (search.partial) {
      reportAbort(
        `stopped by ${search.stopReason} after ${search.steps.length} step(s) and ${search.requestsSent} requests; the knee (${res.kneeRps} rps) is a lower bound${raw.report || raw.profile ? '; partial output written' : ''}`,
      );
      return;
    }
    if (noKnee) throw noKneeError(search, cfg.plan);
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await pool.destroy().catch(() => undefined);
  }
}

/** Whether the target runs on this machine (loopback, this host's name or one of its addresses). */
function targetIsLocal(url: URL): boolean {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
  return isLocalHost(url.hostname, addresses, hostname());
}

function reportAbort(message: string): void {
  process.stderr.write(`${formatProblem({ code: 'HR_LOADTEST_ABORTED', message })}\n`);
  process.exitCode = 3;
}

/** An output file's directory exists and is writable, and the file, if there, is a writable file. */
function writable(flag: string, file: string): void {
  const fail = (message: string): never => {
    throw new HeadroomError({
      code: 'HR_FILE_WRITE',
      path: flag,
      value: file,
      message,
      allowed: 'a writable file path',
    });
  };
  const dir = dirname(resolve(file));
  if (!existsSync(dir)) fail(`the directory ${dir} does not exist`);
  if (existsSync(file) && !statSync(file).isFile()) fail('not a file');
  try {
    accessSync(existsSync(file) ? file : dir, constants.W_OK);
  } catch {
    fail(`${existsSync(file) ? 'the file' : `the directory ${dir}`} is not writable`);
  }
}

function writeOutputs(res: LoadtestResult, raw: RawOptions, withProfile: boolean): void {
  const tableOnStderr = raw.json === true && raw.progress;
  if (raw.json) {
    process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
    if (raw.progress) process.stderr.write(renderTable(res));
  } else process.stdout.write(renderTable(res));
  // The table carries it too; stderr gets it unless the table already went there.
  const contention = generatorCpuWarning(res);
  if (contention && !tableOnStderr) process.stderr.write(`warning: ${contention}\n`);
  const write = (file: string, text: string, what: string): void => {
    try {
      writeFileSync(file, text);
    } catch (err) {
      throw new HeadroomError({
        code: 'HR_FILE_WRITE',
        path: what,
        message: `cannot write ${file}: ${(err as Error).message}`,
        file,
      });
    }
  };
  if (raw.report) write(raw.report, renderReport(res, loadReportAssets()), '--report');
  if (raw.profile) {
    const profile = withProfile ? buildProfile(res) : undefined;
    if (profile) {
      write(raw.profile, `${JSON.stringify(profile, null, 2)}\n`, '--profile');
      const warning = probeDistributionWarning(res);
      if (warning) process.stderr.write(`warning: ${warning}\n`);
    } else {
      const why = res.steps.length === 0 ? 'no load step completed' : 'no rate met the SLO';
      process.stderr.write(`no capacity profile written to ${raw.profile}: ${why}\n`);
    }
  }
}

/**
 * Every probe response was an HTTP error (e.g. a wrong path → all 404, a broken backend → all 503):
 * say so now instead of running a whole step of errors. Not when errors are allowed (100 %).
 */
export function probeErrors(p: ProbeResult, errorRateLimit: number): HeadroomError | undefined {
  const entries = Object.entries(p.statuses);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  if (errorRateLimit >= 1 || total === 0 || entries.some(([st]) => Number(st) < 400)) return undefined;
  const counts = entries.map(([st, n]) => `HTTP ${st}: ${n}`).join(', ');
  const kind: ErrorKind = entries.some(([st]) => Number(st) >= 500) ? 'http-5xx' : 'http-4xx';
  return new HeadroomError({
    code: 'HR_LOADTEST_ERROR_RATE',
    message: `every probe request failed before any step ran (${counts}): ${kind}, ${describeKind(kind)}${kind === 'http-4xx' ? ' (check the URL, method, headers and body)' : ''}`,
    value: 1,
    allowed: `<= ${errorRateLimit} (--max-error-rate)`,
  });
}

function noKneeError(search: SearchResult, plan: SearchPlan): HeadroomError {
  const first = search.steps[0];
  if (!first) return new HeadroomError({ code: 'HR_LOADTEST_NO_KNEE', message: 'no step ran' });
  const kinds = Object.entries(first.errorKinds)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  if (first.breach === 'errors' || first.breach === 'latency+errors') {
    const top = Object.entries(first.errorKinds).sort((a, b) => b[1] - a[1])[0]?.[0] as ErrorKind | undefined;
    return new HeadroomError({
      code: 'HR_LOADTEST_ERROR_RATE',
      message: `error rate ${(first.errorRate * 100).toFixed(1)}% > ${(plan.errorRateLimit * 100).toFixed(2)}% at the lowest step (${first.targetRps} rps)${kinds ? ` (${kinds}${first.dropped ? `, dropped: ${first.dropped}` : ''})` : first.dropped ? ` (dropped: ${first.dropped})` : ''}${top ? `: ${describeKind(top)}` : ''}`,
      value: first.errorRate,
      allowed: `<= ${plan.errorRateLimit} (--max-error-rate)`,
    });
  }
  return new HeadroomError({
    code: 'HR_LOADTEST_NO_KNEE',
    message: `p${plan.slo.percentile} was ${first.sloLatencyMs.toFixed(1)} ms > ${plan.slo.latencyMs} ms already at the lowest step (${first.targetRps} rps); lower --start-rps or check the SLO`,
    value: first.sloLatencyMs,
    allowed: `<= ${plan.slo.latencyMs}`,
  });
}
