// Starts, stops and restarts the instances of one service: the user's command as an argv list
// (never a shell string), each with its own PORT and HOST=127.0.0.1.
//
// Life of an instance:
//   starting ──GET healthPath 2xx──▶ ready ──3 failed probes──▶ unready ──probe ok──▶ ready
//      │ exit / startup timeout          │ exit (crash)                    scale-down
//      ▼                                 ▼                                     ▼
//   backoff ──1 s, 2 s, 4 s … 30 s──▶ starting (new port)        draining: out of the balancer,
//                                                                in-flight requests finish (≤ drain
//                                                                timeout) → SIGTERM → SIGKILL after grace
// A crash loop shows as `backoff` with a growing restart count and a `BackOff` event.
//
// Over 400 lines on purpose: the Supervisor class is one state machine (the diagram above), and its
// transitions share the instance table, the timers and the event log; split across files, each
// transition would need that state passed around. What is not the machine lives apart: ports,
// command lookup, process-group signals and the HTTP probe in processes.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { HeadroomError } from '../core/errors.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import { PDEATHSIG_WRAPPER, freePort, probe, resolveCommand, signalGroup } from './processes.ts';

export type InstanceState = 'starting' | 'ready' | 'unready' | 'draining' | 'stopping' | 'backoff';

export interface SupervisorOptions {
  /** argv: command[0] is the program, the rest its arguments. */
  command: readonly string[];
  cwd?: string;
  /** Extra environment for every instance (PORT, HOST and HEADROOM_INSTANCE are set by us). */
  env?: Readonly<Record<string, string>>;
  /** Address the instances listen on (HOST), default 127.0.0.1. */
  host?: string;
  /** Readiness path, default /healthz. */
  healthPath?: string;
  /** An instance that is not ready this long after spawn is killed and restarted (ms). */
  startupTimeoutMs?: number;
  /** Scale-down: wait at most this long for in-flight requests before SIGTERM (ms). */
  drainTimeoutMs?: number;
  /** After SIGTERM, SIGKILL when the process has not exited within this (ms). */
  killGraceMs?: number;
  /** Probe period of ready instances (ms); 3 failures in a row make an instance unready. */
  probeIntervalMs?: number;
  /**
   * An instance unready this long while its process is still alive (frozen by SIGSTOP, hung) is
   * killed and replaced (ms). It would otherwise hold its slot forever: alive, so never "crashed".
   */
  unreadyTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  /** Requests in flight to an instance (from the balancer), so a drain knows when it is done. */
  inFlight?: (id: string) => number;
  /** Lines of output kept per instance for error messages. */
  tailLines?: number;
  /** Print instance output with an `[id]` prefix instead of only keeping the tail. */
  inheritOutput?: boolean;
  /** Event, start and ready times on `now`; deadlines and how long an instance is unready on `monotonic`. */
  clock?: Clock;
}

export interface InstanceInfo {
  id: string;
  state: InstanceState;
  pid?: number;
  port?: number;
  /** Restarts after crashes or failed startups. */
  restarts: number;
  /** ms since the epoch. */
  startedAt?: number;
  readySince?: number;
  lastExit?: string;
}

export interface Target {
  id: string;
  host: string;
  port: number;
}

export type SupervisorEventType =
  | 'Started'
  | 'Ready'
  | 'Unready'
  | 'Crashed'
  | 'StartupTimeout'
  | 'BackOff'
  | 'Draining'
  | 'Stopped'
  | 'Killed'
  | 'Replaced'
  | 'ScaledUp'
  | 'ScaledDown'
  | 'SpawnFailed'
  | 'Decision'
  | 'Alert';

export interface SupervisorEvent {
  /** ms since the epoch. */
  at: number;
  type: SupervisorEventType;
  instance?: string;
  message: string;
  warning: boolean;
}

interface Instance {
  id: string;
  state: InstanceState;
  child?: ChildProcess;
  port?: number;
  restarts: number;
  consecutiveFailures: number;
  startedAt?: number;
  readySince?: number;
  lastExit?: string;
  lastProbe?: string;
  probeFailures: number;
  /** ms (monotonic) when it last became unready. */
  unreadySince?: number;
  tail: string[];
  timer?: NodeJS.Timeout;
  exited?: Promise<void>;
  removed: boolean;
}

const DEFAULTS = {
  host: '127.0.0.1',
  healthPath: '/healthz',
  startupTimeoutMs: 30_000,
  drainTimeoutMs: 30_000,
  killGraceMs: 10_000,
  probeIntervalMs: 2_000,
  unreadyTimeoutMs: 10_000,
  backoff: { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 },
  tailLines: 20,
};

const STARTUP_PROBE_MS = 100;
const UNREADY_AFTER_FAILURES = 3;
const MAX_EVENTS = 200;

export class Supervisor {
  private readonly opts: Required<Omit<SupervisorOptions, 'inFlight' | 'cwd' | 'env' | 'clock'>> & {
    inFlight: (id: string) => number;
    cwd: string;
    env: Readonly<Record<string, string>>;
    clock: Clock;
  };
  private readonly instances = new Map<string, Instance>();
  private readonly eventLog: SupervisorEvent[] = [];
  private recorded = 0;
  private readonly listeners = new Set<() => void>();
  private readyCache: Target[] = [];
  private nextId = 1;
  private desiredCount = 0;
  private stopped = false;
  private probeTimer?: NodeJS.Timeout;
  private readonly onExit = (): void => this.killAllNow();
  /** Set when the command cannot be spawned at all (ENOENT, EACCES): no point restarting. */
  private spawnFailure?: NodeJS.ErrnoException;
  /** While start() waits: an instance exited before it was ever ready (fail fast, not at the timeout). */
  private startupExit?: string;
  private starting = false;

  constructor(options: SupervisorOptions) {
    if (options.command.length === 0 || options.command[0] === '') throw new RangeError('command is empty');
    const o = options;
    this.opts = {
      command: [...o.command],
      host: o.host ?? DEFAULTS.host,
      healthPath: o.healthPath ?? DEFAULTS.healthPath,
      startupTimeoutMs: o.startupTimeoutMs ?? DEFAULTS.startupTimeoutMs,
      drainTimeoutMs: o.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs,
      killGraceMs: o.killGraceMs ?? DEFAULTS.killGraceMs,
      probeIntervalMs: o.probeIntervalMs ?? DEFAULTS.probeIntervalMs,
      unreadyTimeoutMs: o.unreadyTimeoutMs ?? DEFAULTS.unreadyTimeoutMs,
      backoff: o.backoff ?? DEFAULTS.backoff,
      tailLines: o.tailLines ?? DEFAULTS.tailLines,
      inheritOutput: o.inheritOutput ?? false,
      inFlight: o.inFlight ?? (() => 0),
      cwd: o.cwd ?? process.cwd(),
      env: o.env ?? {},
      clock: o.clock ?? systemClock,
    };
    process.on('exit', this.onExit);
  }

  /** Wall time, whole ms since the epoch (event times, startedAt and readySince are shown as dates). */
  private wallMs(): number {
    return Math.round(this.opts.clock.now() * 1000);
  }

  /** Monotonic ms, for deadlines: a wall-clock step must not cut a drain or a kill grace short. */
  private monoMs(): number {
    return this.opts.clock.monotonic() * 1000;
  }

  /** The balancer calls this per request: instances that are ready and not draining. */
  readyTargets(): readonly Target[] {
    return this.readyCache;
  }

  get desired(): number {
    return this.desiredCount;
  }

  /** Called on every state change (the balancer wakes queued requests; the server may push). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  setInFlightSource(fn: (id: string) => number): void {
    this.opts.inFlight = fn;
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map((i) => ({
      id: i.id,
      state: i.state,
      ...(i.child?.pid !== undefined && i.state !== 'backoff' ? { pid: i.child.pid } : {}),
      ...(i.port !== undefined ? { port: i.port } : {}),
      restarts: i.restarts,
      ...(i.startedAt !== undefined ? { startedAt: i.startedAt } : {}),
      ...(i.readySince !== undefined ? { readySince: i.readySince } : {}),
      ...(i.lastExit !== undefined ? { lastExit: i.lastExit } : {}),
    }));
  }

  /** Instances that count toward the desired number (everything not on its way out). */
  get running(): number {
    let n = 0;
    for (const i of this.instances.values()) if (i.state !== 'draining' && i.state !== 'stopping') n++;
    return n;
  }

  get ready(): number {
    return this.readyCache.length;
  }

  events(limit = MAX_EVENTS): SupervisorEvent[] {
    return this.eventLog.slice(-limit);
  }

  /**
   * A follower's next events: those recorded after the first `seen` since the start (at most the
   * log's newest MAX_EVENTS, if more came since), and the count to pass next time. Each event once.
   */
  eventsSince(seen: number): { events: SupervisorEvent[]; seen: number } {
    const fresh = Math.min(MAX_EVENTS, this.recorded - seen);
    return { events: fresh > 0 ? this.events(fresh) : [], seen: this.recorded };
  }

  /**
   * Start `initial` instances and wait until one is ready (then the service can take traffic).
   * Fails with HR_COMMAND_NOT_FOUND or HR_HEALTH_CHECK_FAILED, after stopping everything started.
   */
  async start(initial: number, startupTimeoutMs = this.opts.startupTimeoutMs): Promise<void> {
    const cmd = this.opts.command[0]!;
    if (resolveCommand(cmd, this.opts.cwd) === undefined) {
      throw new HeadroomError({
        code: 'HR_COMMAND_NOT_FOUND',
        message: `cannot start the service: ${cmd} is not ${cmd.includes('/') ? 'an executable file' : 'an executable on PATH'} (cwd ${this.opts.cwd})`,
        path: 'run.command[0]',
        value: cmd,
        allowed: 'a program name on PATH or a path to an executable file; argv list, no shell',
      });
    }
    this.probeTimer = setInterval(() => this.probeReady(), this.opts.probeIntervalMs);
    this.probeTimer.unref();
    this.starting = true;
    this.setDesired(Math.max(1, initial));
    const deadline = this.monoMs() + startupTimeoutMs;
    await new Promise<void>((res, rej) => {
      const check = (): void => {
        if (this.spawnFailure) return done(this.spawnError(this.spawnFailure));
        if (this.readyCache.length > 0) return done();
        if (this.startupExit !== undefined) return done(this.healthError(startupTimeoutMs, this.startupExit));
        if (this.monoMs() >= deadline) return done(this.healthError(startupTimeoutMs));
      };
      const timer = setInterval(check, 50);
      const off = this.onChange(check);
      const done = (err?: Error): void => {
        clearInterval(timer);
        off();
        if (err) rej(err);
        else res();
      };
      check();
    })
      .catch(async (err: unknown) => {
        await this.stop();
        throw err;
      })
      .finally(() => {
        this.starting = false;
      });
  }

  /** Ask for `n` instances: start new ones or drain the surplus. */
  setDesired(n: number): void {
    if (this.stopped) return;
    const target = Math.max(0, Math.floor(n));
    const before = this.desiredCount;
    this.desiredCount = target;
    const active = [...this.instances.values()].filter((i) => i.state !== 'draining' && i.state !== 'stopping');
    if (active.length < target) {
      const add = target - active.length;
      this.record('ScaledUp', undefined, `desired ${before} → ${target}: starting ${add}`, false);
      for (let k = 0; k < add; k++) this.spawnNew();
    } else if (active.length > target) {
      // Remove the least useful first: crash-looping, then starting, then unready, then the newest ready.
      const rank: Record<InstanceState, number> = {
        backoff: 0,
        starting: 1,
        unready: 2,
        ready: 3,
        draining: 9,
        stopping: 9,
      };
      const victims = active
        .sort((a, b) => rank[a.state] - rank[b.state] || (b.startedAt ?? 0) - (a.startedAt ?? 0))
        .slice(0, active.length - target);
      this.record('ScaledDown', undefined, `desired ${before} → ${target}: removing ${victims.length}`, false);
      for (const v of victims) void this.retire(v);
    }
  }

  /** Stop every instance (SIGTERM, SIGKILL after the grace period) and wait for them to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    const all = [...this.instances.values()];
    await Promise.all(all.map((i) => this.terminate(i)));
    process.off('exit', this.onExit);
    this.changed();
  }

  /** Record an event from outside (the control loop's applied decisions). */
  note(type: SupervisorEventType, message: string, warning = false): void {
    this.record(type, undefined, message, warning);
  }

  // --- internals ---

  private spawnNew(): void {
    const inst: Instance = {
      id: `i${this.nextId++}`,
      state: 'starting',
      restarts: 0,
      consecutiveFailures: 0,
      probeFailures: 0,
      tail: [],
      removed: false,
    };
    this.instances.set(inst.id, inst);
    void this.launch(inst);
  }

  private async launch(inst: Instance): Promise<void> {
    if (this.stopped || inst.removed) return;
    inst.state = 'starting';
    inst.readySince = undefined;
    inst.probeFailures = 0;
    inst.port = await freePort(this.opts.host);
    if (this.stopped || inst.removed) return;
    const [cmd, ...rest] = this.opts.command as [string, ...string[]];
    // Wrapped only when the command resolves: a missing one still fails in spawn (ENOENT), as before.
    const wrap = PDEATHSIG_WRAPPER.length > 0 && resolveCommand(cmd, this.opts.cwd) !== undefined;
    const [exe, ...args] = wrap ? [...PDEATHSIG_WRAPPER, cmd, ...rest] : [cmd, ...rest];
    const child = spawn(exe as string, args, {
      cwd: this.opts.cwd,
      env: {
        ...process.env,
        ...this.opts.env,
        PORT: String(inst.port),
        HOST: this.opts.host,
        HEADROOM_INSTANCE: inst.id,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: Ctrl-C in the terminal reaches Headroom only, which then drains the
      // instances instead of them all dying mid-request.
      detached: true,
    });
    inst.child = child;
    inst.startedAt = this.wallMs();
    // This process's own lines: a restart's "last output" must not quote the processes before it
    // (nor their late output after they exited).
    const tail: string[] = [];
    inst.tail = tail;
    const keep = (chunk: Buffer): void => {
      const lines = chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      for (const l of lines) {
        tail.push(l.length > 500 ? `${l.slice(0, 500)}…` : l);
        if (this.opts.inheritOutput) process.stderr.write(`[${inst.id}] ${l}\n`);
      }
      if (tail.length > this.opts.tailLines) tail.splice(0, tail.length - this.opts.tailLines);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    inst.exited = new Promise<void>((res) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        // ENOENT/EACCES: spawn failed, no 'exit' follows.
        if (child.pid === undefined) {
          this.spawnFailure = err;
          this.record('SpawnFailed', inst.id, `cannot start ${cmd}: ${err.code ?? err.message}`, true);
          inst.child = undefined;
          this.onCrash(inst, `spawn failed: ${err.code ?? err.message}`);
          res();
        }
      });
      child.once('exit', (code, signal) => {
        res();
        this.onProcessExit(inst, child, code, signal);
      });
    });
    if (child.pid !== undefined) this.record('Started', inst.id, `pid ${child.pid} on port ${inst.port}`, false);
    void this.awaitReady(inst, child);
  }

  private async awaitReady(inst: Instance, child: ChildProcess): Promise<void> {
    const deadline = this.monoMs() + this.opts.startupTimeoutMs;
    while (inst.child === child && inst.state === 'starting' && !this.stopped) {
      const reason = await probe(this.opts.host, inst.port!, this.opts.healthPath, 1000);
      if (inst.child !== child || inst.state !== 'starting' || this.stopped) return;
      if (reason === null) {
        inst.state = 'ready';
        inst.readySince = this.wallMs();
        const took = ((inst.readySince - (inst.startedAt ?? inst.readySince)) / 1000).toFixed(1);
        this.record('Ready', inst.id, `ready after ${took} s on port ${inst.port}`, false);
        this.changed();
        return;
      }
      inst.lastProbe = reason;
      if (this.monoMs() >= deadline) {
        this.record(
          'StartupTimeout',
          inst.id,
          `not ready after ${this.opts.startupTimeoutMs / 1000} s (${reason}); killing it`,
          true,
        );
        inst.lastExit = `not ready within ${this.opts.startupTimeoutMs / 1000} s (${reason})`;
        inst.state = 'stopping';
        await this.signalAndWait(inst, child);
        // onProcessExit sees `stopping` and treats it as an expected stop, so restart here.
        if (!inst.removed && !this.stopped) this.onCrash(inst, inst.lastExit);
        return;
      }
      await new Promise((r) => setTimeout(r, STARTUP_PROBE_MS));
    }
  }

  private onProcessExit(inst: Instance, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (inst.child !== child) return;
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (inst.state === 'draining' || inst.state === 'stopping' || inst.removed || this.stopped) {
      if (inst.removed || this.stopped) {
        this.instances.delete(inst.id);
        this.record('Stopped', inst.id, `${how}`, false);
      }
      this.changed();
      return;
    }
    this.reapGroup(child.pid);
    const tail = inst.tail.slice(-3).join(' | ');
    inst.lastExit = `${how}${tail ? `; last output: ${tail}` : ''}`;
    this.record('Crashed', inst.id, `${how} while ${inst.state}${tail ? ` (last output: ${tail})` : ''}`, true);
    if (this.starting && inst.state === 'starting') this.startupExit = `${inst.id} ${inst.lastExit}`;
    this.onCrash(inst, how);
  }

  private onCrash(inst: Instance, _why: string): void {
    inst.child = undefined;
    if (inst.removed || this.stopped) {
      this.instances.delete(inst.id);
      this.changed();
      return;
    }
    const now = this.wallMs();
    // Ran fine for a while: start the backoff from the beginning (Kubernetes resets after 10 min).
    if (inst.readySince !== undefined && now - inst.readySince >= this.opts.backoff.resetAfterMs) {
      inst.consecutiveFailures = 0;
    }
    inst.consecutiveFailures++;
    inst.restarts++;
    const delay = Math.min(this.opts.backoff.maxMs, this.opts.backoff.initialMs * 2 ** (inst.consecutiveFailures - 1));
    inst.state = 'backoff';
    inst.readySince = undefined;
    this.record(
      'BackOff',
      inst.id,
      `restart ${inst.restarts} in ${(delay / 1000).toFixed(1)} s (${inst.consecutiveFailures} failure${inst.consecutiveFailures > 1 ? 's' : ''} in a row)`,
      true,
    );
    this.changed();
    if (this.spawnFailure) return; // the command itself is missing: restarting cannot help
    inst.timer = setTimeout(() => {
      inst.timer = undefined;
      void this.launch(inst);
    }, delay);
    inst.timer.unref();
  }

  /** Scale-down of one instance: out of the balancer, drain, SIGTERM, SIGKILL. */
  private async retire(inst: Instance): Promise<void> {
    inst.removed = true;
    if (inst.timer) clearTimeout(inst.timer);
    if (inst.state !== 'ready' && inst.state !== 'unready') {
      await this.terminate(inst);
      return;
    }
    inst.state = 'draining';
    this.record('Draining', inst.id, `draining: ${this.opts.inFlight(inst.id)} in flight`, false);
    this.changed();
    const deadline = this.monoMs() + this.opts.drainTimeoutMs;
    while (this.opts.inFlight(inst.id) > 0 && this.monoMs() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const left = this.opts.inFlight(inst.id);
    if (left > 0) {
      this.record('Draining', inst.id, `drain timeout: ${left} request(s) still in flight`, true);
    }
    await this.terminate(inst);
  }

  private async terminate(inst: Instance): Promise<void> {
    inst.removed = true;
    if (inst.timer) clearTimeout(inst.timer);
    const child = inst.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      this.instances.delete(inst.id);
      this.changed();
      return;
    }
    inst.state = 'stopping';
    this.changed();
    await this.signalAndWait(inst, child);
    this.instances.delete(inst.id);
    this.changed();
  }

  /**
   * Stop the instance's whole process group: SIGTERM to −pgid, then SIGKILL to it after the grace.
   * The command leads its own group (detached), so helpers it started (`sh -c "sleep 301 & exec
   * node service.ts"`) are in the group too: signalling only the pid left them orphaned, holding
   * the instance's stdout/stderr pipes open, so `headroom run` hung after printing "done".
   */
  private async signalAndWait(inst: Instance, child: ChildProcess): Promise<void> {
    const pid = child.pid;
    const leaderAlive = child.exitCode === null && child.signalCode === null;
    if (pid === undefined || (!leaderAlive && !signalGroup(pid, 0))) return this.closeOutput(child);
    if (!signalGroup(pid, 'SIGTERM')) child.kill('SIGTERM');
    const deadline = this.monoMs() + this.opts.killGraceMs;
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), this.opts.killGraceMs);
    });
    let result = await Promise.race([inst.exited!.then(() => 'exited' as const), killed]);
    clearTimeout(timer);
    // The leader is gone; wait (within the same grace) for the rest of its group.
    while (result === 'exited' && signalGroup(pid, 0)) {
      if (this.monoMs() >= deadline) result = 'timeout';
      else await new Promise((r) => setTimeout(r, 50));
    }
    if (result === 'timeout') {
      this.record(
        'Killed',
        inst.id,
        `process group ${pid} still running ${this.opts.killGraceMs / 1000} s after SIGTERM: SIGKILL`,
        true,
      );
      if (!signalGroup(pid, 'SIGKILL')) child.kill('SIGKILL');
      await inst.exited;
    }
    this.closeOutput(child);
  }

  /**
   * A crashed instance's helpers would be orphaned: stop what is left of its group in the
   * background (SIGTERM, SIGKILL after the grace); the restart does not wait for it.
   */
  private reapGroup(pid: number | undefined): void {
    if (pid === undefined || !signalGroup(pid, 0)) return;
    signalGroup(pid, 'SIGTERM');
    const deadline = this.monoMs() + this.opts.killGraceMs;
    const poll = (): void => {
      if (!signalGroup(pid, 0)) return;
      if (this.monoMs() >= deadline) {
        signalGroup(pid, 'SIGKILL');
        return;
      }
      setTimeout(poll, 100).unref();
    };
    poll();
  }

  /** Let go of the pipes: a helper that escaped its group must not keep Headroom's event loop alive. */
  private closeOutput(child: ChildProcess): void {
    child.stdout?.destroy();
    child.stderr?.destroy();
  }

  private probeReady(): void {
    for (const inst of this.instances.values()) {
      if ((inst.state !== 'ready' && inst.state !== 'unready') || inst.port === undefined) continue;
      const child = inst.child;
      if (
        inst.state === 'unready' &&
        child &&
        inst.unreadySince !== undefined &&
        this.monoMs() - inst.unreadySince >= this.opts.unreadyTimeoutMs
      ) {
        void this.replace(inst, child);
        continue;
      }
      void probe(this.opts.host, inst.port, this.opts.healthPath, 1000).then((reason) => {
        if (inst.child !== child || (inst.state !== 'ready' && inst.state !== 'unready')) return;
        if (reason === null) {
          inst.probeFailures = 0;
          if (inst.state === 'unready') {
            inst.state = 'ready';
            inst.readySince = this.wallMs();
            this.record('Ready', inst.id, 'health check passes again', false);
            this.changed();
          }
        } else if (++inst.probeFailures >= UNREADY_AFTER_FAILURES && inst.state === 'ready') {
          inst.state = 'unready';
          inst.unreadySince = this.monoMs();
          inst.lastProbe = reason;
          this.record('Unready', inst.id, `${inst.probeFailures} failed health checks: ${reason}`, true);
          this.changed();
        }
      });
    }
  }

  /**
   * Unready for unreadyTimeoutMs with its process alive: kill its group and start a new one (a
   * restart, with the usual backoff). SIGCONT after SIGTERM lets a SIGSTOPped process run its
   * SIGTERM handler; a hung one gets SIGKILL after the grace. E.g. with the defaults, a frozen
   * instance is unready after 3 failed 2 s probes (~6 s), replaced 10 s later.
   */
  private async replace(inst: Instance, child: ChildProcess): Promise<void> {
    const unreadyFor = ((this.monoMs() - (inst.unreadySince ?? this.monoMs())) / 1000).toFixed(1);
    inst.state = 'stopping';
    inst.unreadySince = undefined;
    inst.lastExit = `unready for ${unreadyFor} s while its process was alive (${inst.lastProbe ?? 'no answer'})`;
    this.record(
      'Replaced',
      inst.id,
      `unready for ${unreadyFor} s (limit ${this.opts.unreadyTimeoutMs / 1000} s) while pid ${child.pid} is alive: killing and replacing it`,
      true,
    );
    this.changed();
    const stop = this.signalAndWait(inst, child);
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGCONT');
    await stop;
    // onProcessExit saw `stopping` (an expected stop): restart here, as for a startup timeout.
    if (!inst.removed && !this.stopped) this.onCrash(inst, inst.lastExit);
  }

  private changed(): void {
    this.readyCache = [...this.instances.values()]
      .filter((i) => i.state === 'ready' && i.port !== undefined)
      .map((i) => ({ id: i.id, host: this.opts.host, port: i.port! }));
    for (const fn of this.listeners) fn();
  }

  private record(type: SupervisorEventType, instance: string | undefined, message: string, warning: boolean): void {
    this.recorded++;
    this.eventLog.push({ at: this.wallMs(), type, ...(instance ? { instance } : {}), message, warning });
    if (this.eventLog.length > MAX_EVENTS) this.eventLog.splice(0, this.eventLog.length - MAX_EVENTS);
  }

  private spawnError(err: NodeJS.ErrnoException): HeadroomError {
    const cmd = this.opts.command[0]!;
    return new HeadroomError({
      code: 'HR_COMMAND_NOT_FOUND',
      message: `cannot start the service: ${cmd}: ${err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message)}`,
      path: 'run.command[0]',
      value: cmd,
      allowed: 'a program name on PATH or a path to an executable file; argv list, no shell',
    });
  }

  private healthError(timeoutMs: number, exit?: string): HeadroomError {
    if (exit !== undefined) {
      return new HeadroomError({
        code: 'HR_HEALTH_CHECK_FAILED',
        message: `the service \`${this.opts.command.join(' ')}\` exited before it answered GET ${this.opts.healthPath}: ${exit}`,
        path: 'run.command',
        value: this.opts.command,
        allowed: `a command that keeps running and serves HTTP on $PORT (${this.opts.host})`,
      });
    }
    const details = [...this.instances.values()].map((i) => {
      const parts = [i.lastProbe ? `last check: ${i.lastProbe}` : 'never answered'];
      if (i.lastExit) parts.push(i.lastExit);
      else if (i.tail.length) parts.push(`last output: ${i.tail.slice(-3).join(' | ')}`);
      return `${i.id}: ${parts.join('; ')}`;
    });
    return new HeadroomError({
      code: 'HR_HEALTH_CHECK_FAILED',
      message: `no instance of \`${this.opts.command.join(' ')}\` answered GET ${this.opts.healthPath} with 2xx within ${timeoutMs / 1000} s${details.length ? ` (${details.join('; ')})` : ''}`,
      path: 'run.healthPath',
      value: this.opts.healthPath,
      allowed: `a path the service answers with 2xx once it listens on $PORT (${this.opts.host})`,
    });
  }

  /** Last resort when Headroom itself exits: no instance outlives it. */
  private killAllNow(): void {
    for (const i of this.instances.values()) {
      const pid = i.child?.pid;
      if (pid !== undefined && signalGroup(pid, 'SIGKILL')) continue;
      try {
        i.child?.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
