// The live terminal view of `headroom run`: a block redrawn in place on a TTY (cursor up, clear
// lines), or one plain line per period when the output is a file or a pipe (CI logs stay readable).
import { systemClock } from '../ports/clock.ts';
import type { LocalStatusSnapshot, StatusEvent } from '../server/status.ts';

const MiB = 1024 * 1024;

function f(x: number | null | undefined, digits = 0): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

function bar(n: number, max: number, width = 24): string {
  const cells = Math.max(1, Math.min(width, max));
  const filled = Math.round((Math.min(n, max) / Math.max(1, max)) * cells);
  return `${'█'.repeat(filled)}${'░'.repeat(cells - filled)}`;
}

export interface ViewExtra {
  /** Traffic phase of the demo and its progress. */
  phase?: string;
  elapsed?: number;
  total?: number;
  targetRps?: number;
}

/** The multi-line live block. */
export function renderStatus(s: LocalStatusSnapshot, extra: ViewExtra = {}, width = 100): string[] {
  const r = s.replicas;
  const st = s.traffic.stable;
  const bu = s.traffic.burst;
  const lines: string[] = [];
  lines.push(
    `headroom run · ${s.service.name}${s.shadow ? ' · SHADOW (decides, does not act)' : ''}   ${s.service.url ?? ''}`,
  );
  if (extra.phase !== undefined) {
    lines.push(`traffic  ${extra.phase} · now ${f(extra.targetRps)} rps · ${f(extra.elapsed)}/${f(extra.total)} s`);
  }
  lines.push(
    `demand   ${f(st?.arrivalRps, 1)} rps (${f(st?.windowSeconds)} s) · ${f(bu?.arrivalRps, 1)} rps (${f(bu?.windowSeconds)} s) · in flight ${s.traffic.inFlight}${s.traffic.queued ? ` (${s.traffic.queued} waiting for a slot)` : ''}` +
      ` · p50/p99 ${f(bu?.latencyMs?.p50)}/${f(bu?.latencyMs?.p99)} ms · errors ${f((st?.errorRatio ?? 0) * 100, 1)}%`,
  );
  lines.push(
    `replicas ${bar(r.ready, r.max)} ready ${r.ready} · current ${r.current} · desired ${r.desired}  (min ${r.min}, max ${r.max}${r.fitLimit !== null ? `, host fits ${r.fitLimit}` : ''})`,
  );
  const d = s.decision;
  if (d) {
    lines.push(
      `decision ${d.mode} → ${d.desired} (recommended ${d.recommended}, bound by ${d.binding}${d.valid ? '' : ', NO METRICS'}) · predicted util ${f((d.predicted.utilization ?? NaN) * 100)}% p${s.service.slo?.percentile ?? 99} ${f(d.predicted.latencyMs)} ms`,
    );
    // Every reason: the fourth is often the one that explains desired ≠ recommended (ScaleDownStabilized).
    for (const reason of d.reasons) lines.push(`         ${reason.code}: ${reason.message}`);
  }
  const alerts = s.alerts?.alerts.filter((a) => a.state !== 'resolved') ?? [];
  if (alerts.length) {
    const names = (state: string): string[] =>
      alerts.filter((a) => a.state === state).map((a) => a.rule + (a.labels.instance ? `(${a.labels.instance})` : ''));
    const firing = names('firing');
    const pending = names('pending');
    lines.push(
      `alerts   ${firing.length} firing${firing.length ? `: ${firing.join(', ')}` : ''}` +
        `${pending.length ? ` · ${pending.length} pending: ${pending.join(', ')}` : ''}`,
    );
  }
  if (s.paused) lines.push('PAUSED   the control loop neither decides nor scales (dashboard)');
  lines.push('instances');
  for (const i of s.instances.slice(0, 12)) {
    lines.push(
      `  ${i.id.padEnd(5)} ${i.state.padEnd(9)} ${i.port !== undefined ? `:${i.port}` : '      '}  in flight ${String(i.inFlight).padStart(3)} · ${String(i.requests).padStart(6)} req · cpu ${f((i.cpuCores ?? NaN) * 100)}% · ${f((i.memoryBytes ?? NaN) / MiB)} MiB${i.restarts ? ` · restarts ${i.restarts}` : ''}`,
    );
  }
  if (s.instances.length > 12) lines.push(`  … ${s.instances.length - 12} more`);
  const ev = s.events.slice(-4);
  if (ev.length) lines.push('events');
  for (const e of ev) lines.push(`  ${eventLine(e)}`);
  return lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
}

/**
 * One event as a log line, "01:52:24 ! Crashed i1 killed by SIGKILL; restarting (1)" ("!" marks a
 * warning); a graph run names the service first.
 */
export function eventLine(e: StatusEvent, service?: string): string {
  const who = [service, e.type, e.instance].filter((x) => x !== undefined).join(' ');
  return `${e.at.slice(11, 19)} ${e.warning ? '!' : ' '} ${who} ${e.message}`;
}

/**
 * "alerts firing 2: LatencyOverSlo, CrashLooping(i2)": which alerts, not only how many. At most 3
 * names of at most 40 characters each (rule names are the user's), then "+N more".
 */
function firingAlerts(s: LocalStatusSnapshot): string {
  const firing = s.alerts?.alerts.filter((a) => a.state === 'firing') ?? [];
  if (firing.length === 0) return '';
  const cut = (x: string): string => (x.length > 40 ? `${x.slice(0, 39)}…` : x);
  const names = firing.slice(0, 3).map((a) => cut(a.rule) + (a.labels.instance ? `(${cut(a.labels.instance)})` : ''));
  const more = firing.length > 3 ? ` +${firing.length - 3} more` : '';
  return `alerts firing ${firing.length}: ${names.join(', ')}${more}`;
}

/** One line for logs: time, demand, counts, decision. */
export function renderLine(s: LocalStatusSnapshot, extra: ViewExtra = {}): string {
  const r = s.replicas;
  const d = s.decision;
  return [
    s.time.slice(11, 19),
    extra.phase !== undefined ? `[${extra.phase}]` : '',
    // Both windows, each named: "33.6/33.8" alone did not say which number was which.
    `demand ${f(s.traffic.stable?.arrivalRps, 1)} rps over ${f(s.traffic.stable?.windowSeconds)} s, ${f(s.traffic.burst?.arrivalRps, 1)} rps over ${f(s.traffic.burst?.windowSeconds)} s`,
    `p99 ${f(s.traffic.burst?.latencyMs?.p99)} ms`,
    `ready ${r.ready}/${r.current} desired ${r.desired}`,
    d ? `${d.mode}: ${d.reasons.map((x) => x.code).join(',')}` : '',
    firingAlerts(s),
  ]
    .filter((x) => x !== '')
    .join('  ');
}

/** Redraws a block in place on a TTY; prints lines every `plainEverySeconds` otherwise. */
export class LiveView {
  private readonly out: NodeJS.WriteStream;
  private drawn = 0;
  private lastPlain = -Infinity;
  private readonly plainEveryMs: number;
  private readonly redraw: boolean;

  /** `tty: false` forces plain lines even on a terminal (`--no-live`). */
  constructor(out: NodeJS.WriteStream = process.stdout, opts: { tty?: boolean; plainEverySeconds?: number } = {}) {
    this.out = out;
    this.redraw = (opts.tty ?? true) && out.isTTY === true;
    this.plainEveryMs = (opts.plainEverySeconds ?? 5) * 1000;
  }

  get tty(): boolean {
    return this.redraw;
  }

  update(s: LocalStatusSnapshot, extra: ViewExtra = {}): void {
    if (this.tty) {
      const lines = renderStatus(s, extra, Math.max(40, (this.out.columns ?? 100) - 1));
      let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
      for (const l of lines) text += `\x1b[2K${l}\n`;
      // Clear what is left of a longer previous block.
      for (let k = lines.length; k < this.drawn; k++) text += '\x1b[2K\n';
      if (this.drawn > lines.length) text += `\x1b[${this.drawn - lines.length}A`;
      this.out.write(text);
      this.drawn = lines.length;
      return;
    }
    const now = systemClock.monotonic() * 1000;
    if (now - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = now;
      this.out.write(`${renderLine(s, extra)}\n`);
    }
  }
}
