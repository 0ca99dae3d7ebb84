// The control loop of local mode: every tick (≤ 1 s) observe → step (calibrate, decide, guard) → act.
// The loop owns time, queues and side effects; the math is src/loop/step.ts over the pure core's
// decide(), the same step the Kubernetes controller takes (HPA keeps its replica calculator apart
// from its loop the same way). Shadow mode decides and reports but never scales.
import type { Calibration } from '../core/calibrate.ts';
import type { DecideState, Decision, Observation } from '../core/decide.ts';
import type { ServiceModel } from '../core/model.ts';
import { initialLoopState, step, type LoopState, type Measured } from '../loop/step.ts';
import type { Actuator, ScaleTargetRef } from '../ports/actuator.ts';
import { systemClock, type Clock } from '../ports/clock.ts';

export interface TickRecord {
  /** Seconds since the epoch. */
  at: number;
  observation: Observation;
  decision: Decision;
  /** The count was changed this tick. */
  applied: boolean;
  /** Acting failed (the decision stands; the next tick tries again). */
  error?: string;
  /** The loop was paused: no decision was made this tick (`decision` is the last one, or a hold). */
  paused?: boolean;
  /** The latency model against measured latency, when the mode measures it. */
  calibration?: Calibration;
}

/** What one tick observed: the observation for decide(), and the latency measured, if any. */
export interface Observed {
  observation: Observation;
  measured?: Measured;
}

export interface LoopOptions {
  model: ServiceModel;
  /** Tick period, ms (≤ 1000). */
  tickMs: number;
  shadow: boolean;
  observe: () => Observed | Promise<Observed>;
  actuator: Actuator;
  target: ScaleTargetRef;
  /** decide()'s `now` is clock.now(); the fixed tick rate runs on clock.monotonic(). */
  clock?: Clock;
  onTick?: (r: TickRecord) => void;
  /** The state to carry on from (a restart: run.stateFile); default a fresh one. */
  initialState?: LoopState;
}

export class ControlLoop {
  private readonly opts: LoopOptions;
  private readonly clock: Clock;
  private state: LoopState;
  private timer?: NodeJS.Timeout;
  private running = false;
  private inTick?: Promise<TickRecord>;
  last?: TickRecord;
  /** Decide and report, do not act (the dashboard can toggle it at run time). */
  shadow: boolean;
  /** Neither decide nor act; instances keep running as they are. */
  paused = false;

  constructor(opts: LoopOptions) {
    if (!(opts.tickMs > 0 && opts.tickMs <= 1000))
      throw new RangeError(`tickMs must be in (0, 1000], got ${opts.tickMs}`);
    this.opts = opts;
    this.state = opts.initialState ?? initialLoopState();
    this.clock = opts.clock ?? systemClock;
    this.shadow = opts.shadow;
  }

  get decideState(): DecideState {
    return this.state.decide;
  }

  /** The whole state (decide and calibration), as the state file keeps it. */
  get loopState(): LoopState {
    return this.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = (): void => {
      if (!this.running) return;
      const t0 = this.clock.monotonic();
      void this.tick().finally(() => {
        if (!this.running) return;
        // Fixed rate: the next tick is tickMs after this one started, whatever it cost.
        this.timer = setTimeout(loop, Math.max(0, this.opts.tickMs - (this.clock.monotonic() - t0) * 1000));
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.inTick?.catch(() => undefined);
  }

  /** One observe → decide → act step. Never rejects: failures land in the record. */
  tick(): Promise<TickRecord> {
    const p = this.runTick();
    this.inTick = p;
    return p;
  }

  private async runTick(): Promise<TickRecord> {
    const o = this.opts;
    const now = this.clock.now();
    const { observation, measured } = await o.observe();
    if (this.paused) {
      const decision: Decision = this.last?.decision ?? {
        desired: observation.currentReplicas,
        recommended: observation.currentReplicas,
        valid: false,
        binding: 'none',
        mode: 'hold',
        reasons: [],
        predicted: { utilization: null, latencyMs: null },
      };
      const held: Decision = { ...decision, reasons: [{ code: 'Paused', message: 'the control loop is paused' }] };
      const record: TickRecord = {
        at: now,
        observation,
        decision: held,
        applied: false,
        paused: true,
        ...(this.last?.calibration ? { calibration: this.last.calibration } : {}),
      };
      this.last = record;
      o.onTick?.(record);
      return record;
    }
    const { decision, state, calibration } = step(o.model, this.state, observation, now, measured);
    this.state = state;
    const record: TickRecord = {
      at: now,
      observation,
      decision,
      applied: false,
      ...(calibration ? { calibration } : {}),
    };
    if (!this.shadow && decision.desired !== observation.currentReplicas) {
      try {
        const reading = await o.actuator.read(o.target);
        const outcome = await o.actuator.scale(o.target, decision.desired, reading);
        record.applied = outcome.kind === 'scaled';
      } catch (err) {
        record.error = err instanceof Error ? err.message : String(err);
      }
    }
    this.last = record;
    o.onTick?.(record);
    return record;
  }
}
