// The local loop's state across restarts (`run.stateFile` / `--state FILE`): what the Kubernetes
// controller keeps in a policy's status (decideState, the calibrator's state), kept in a file, so
// a restarted `headroom run` carries on: its stabilization windows, its forecast history (periods
// found, margins scored) and its latency calibration, instead of learning them again for hours.
//
//   { "kind": "HeadroomLoopState", "version": 1, "savedAt": "2026-12-06T09:30:00.000Z",
//     "services": { "web": { "decide": {…}, "calibration": {…} } } }
//
// Written atomically (a temporary file renamed over it), every 60 s and at the stop. A file that
// is not this shape is an error (HR_STATE_FILE) before anything starts; a service's state of an
// older shape starts afresh, as the controller's does (src/loop/step.ts restoreState).
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { HeadroomError } from '../core/errors.ts';
import { readInputFile } from '../input/read.ts';
import { restoreCalibration, restoreState, type LoopState } from '../loop/step.ts';

export const STATE_KIND = 'HeadroomLoopState';
export const STATE_VERSION = 1;
/** 8 days of forecast history is ~25–35 KB a service; 64 MiB is far above any real file. */
const STATE_MAX_BYTES = 64 * 2 ** 20;
/** How often the state is written while the loop runs (the controller refreshes its status as often). */
export const STATE_SAVE_EVERY_MS = 60_000;

/** What a state file held: each service's state, and when it was written. */
export interface SavedState {
  services: Map<string, LoopState>;
  savedAt: string;
}

/**
 * The saved state per service, from `file`; undefined when it does not exist yet (a first run).
 * HR_FILE_READ when it cannot be read, HR_STATE_FILE when it is not a state file.
 */
export function readStateFile(file: string): SavedState | undefined {
  if (!existsSync(file)) return undefined;
  const text = readInputFile(file, { what: 'the state file', maxBytes: STATE_MAX_BYTES });
  const bad = (message: string): HeadroomError =>
    new HeadroomError({
      code: 'HR_STATE_FILE',
      file,
      message,
      allowed: `a file headroom run wrote ({"kind": "${STATE_KIND}", "version": ${STATE_VERSION}, …}); delete it to start afresh`,
    });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const o = data as { kind?: unknown; version?: unknown; savedAt?: unknown; services?: unknown };
  if (typeof o !== 'object' || o === null || o.kind !== STATE_KIND)
    throw bad(`not a Headroom state file (kind ${JSON.stringify(o?.kind ?? null)})`);
  if (o.version !== STATE_VERSION)
    throw bad(`version ${JSON.stringify(o.version)}, this Headroom reads ${STATE_VERSION}`);
  if (typeof o.services !== 'object' || o.services === null || Array.isArray(o.services))
    throw bad('services is not an object of service name → state');
  const services = new Map<string, LoopState>();
  for (const [name, s] of Object.entries(o.services as Record<string, { decide?: unknown; calibration?: unknown }>))
    services.set(name, { decide: restoreState(s?.decide), calibration: restoreCalibration(s?.calibration) });
  return { services, savedAt: typeof o.savedAt === 'string' ? o.savedAt : 'an unknown time' };
}

/**
 * Writes the states atomically: a reader (or a crash) sees the old file or the new one, never half.
 * Returns the error's text instead of throwing: a full disk must not stop the loop.
 */
export function writeStateFile(file: string, states: ReadonlyMap<string, LoopState>, now: Date): string | undefined {
  const tmp = `${file}.${process.pid}.tmp`;
  const body = {
    kind: STATE_KIND,
    version: STATE_VERSION,
    savedAt: now.toISOString(),
    services: Object.fromEntries(states),
  };
  try {
    writeFileSync(tmp, `${JSON.stringify(body)}\n`);
    renameSync(tmp, file);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Keeps the file current while a run lasts: every STATE_SAVE_EVERY_MS, and at `stop()`. Entries of
 * services this run does not run (another spec sharing the file) are kept as they were read.
 */
export class StateKeeper {
  readonly #file: string;
  readonly #collect: () => ReadonlyMap<string, LoopState>;
  readonly #others: ReadonlyMap<string, LoopState>;
  readonly #onError: (message: string) => void;
  #timer: NodeJS.Timeout | undefined;
  /** The last write's error, if it failed (reported once per change). */
  #failing: string | undefined;

  constructor(
    file: string,
    collect: () => ReadonlyMap<string, LoopState>,
    read: SavedState | undefined,
    onError: (message: string) => void,
  ) {
    this.#file = file;
    this.#collect = collect;
    this.#onError = onError;
    const own = collect();
    this.#others = new Map([...(read?.services ?? [])].filter(([name]) => !own.has(name)));
  }

  start(everyMs = STATE_SAVE_EVERY_MS): void {
    this.#timer = setInterval(() => this.save(), everyMs);
    this.#timer.unref();
  }

  /** Writes now; false (and onError, once per distinct error) when it failed. */
  save(now = new Date()): boolean {
    const err = writeStateFile(this.#file, new Map([...this.#others, ...this.#collect()]), now);
    if (err !== undefined && err !== this.#failing) this.#onError(`state not saved to ${this.#file}: ${err}`);
    this.#failing = err;
    return err === undefined;
  }

  /** The last write, after the loop stopped. */
  stop(): boolean {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    return this.save();
  }
}

/**
 * --state (from the working directory) or run.stateFile (resolved from the spec's folder): read,
 * and written back once, so a file that cannot be written (a folder that does not exist, no
 * permission) is HR_STATE_FILE now, before anything starts, not a warning an hour in.
 */
export function openState(flags: { state?: string }, configured: string | undefined): OpenState | undefined {
  const file = flags.state !== undefined ? resolve(flags.state) : configured;
  if (file === undefined) return undefined;
  const saved = readStateFile(file);
  const err = writeStateFile(file, saved?.services ?? new Map(), new Date());
  if (err !== undefined)
    throw new HeadroomError({
      code: 'HR_STATE_FILE',
      file,
      message: `cannot be written: ${err}`,
      allowed: 'a file in a folder that exists and this user may write',
    });
  return { file, ...(saved ? { saved } : {}) };
}

export interface OpenState {
  file: string;
  saved?: SavedState;
}

/** "state.json (carried on from 2026-12-06T09:30:00.000Z: web)" or "state.json (new)". */
export function stateText(s: OpenState, names: readonly string[]): string {
  const carried = names.filter((n) => s.saved?.services.has(n));
  return `${s.file} (${carried.length ? `carried on from ${s.saved?.savedAt}: ${carried.join(', ')}` : 'new: nothing saved for this service yet'}; saved every 60 s and at the stop)`;
}
