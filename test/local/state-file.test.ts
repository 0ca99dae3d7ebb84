// The local loop's state file (src/local/state-file.ts): what is written is read back as the loop
// left it, a file that is not one is refused with HR_STATE_FILE, and a write is all or nothing.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { model as serviceModel } from '../core/decide-model.ts';
import { decide, forecastHorizon } from '../../src/core/decide.ts';
import { HeadroomError } from '../../src/core/errors.ts';
import { historyFrom } from '../../src/core/forecast.ts';
import { openState, readStateFile, StateKeeper, writeStateFile, STATE_KIND } from '../../src/local/state-file.ts';
import { initialLoopState, type LoopState } from '../../src/loop/step.ts';

// Recording demand does not depend on the capacity: the shared unit-test service, forecast on.
const model = serviceModel({ forecast: { enabled: true, quietPhase: true } });

/** A loop that ran an hour at 200 rps, then decided once more. */
function ranAnHour(): LoopState {
  const readings: Array<[number, number]> = [];
  for (let t = 1_800_000_000; t < 1_800_003_600; t += 15) readings.push([t, 200 + (t % 60)]);
  const demand = historyFrom(readings, forecastHorizon(model));
  const r = decide(
    model,
    { ...initialLoopState().decide, demand },
    { readyReplicas: 4, currentReplicas: 4, demandRps: 210 },
    1_800_003_600,
  );
  return { decide: r.state, calibration: { logScale: 0.1, logError: 0.2, samples: 12, at: 1_800_003_600 } };
}

const dir = (): string => mkdtempSync(join(tmpdir(), 'hr-state-'));

function refused(file: string): HeadroomError {
  try {
    readStateFile(file);
  } catch (err) {
    if (err instanceof HeadroomError) return err;
    throw err;
  }
  throw new Error(`${file} was read`);
}

describe('the state file of headroom run', () => {
  it('reads back what was written, and nothing when there is none yet', () => {
    const file = join(dir(), 'state.json');
    expect(readStateFile(file)).toBeUndefined();
    const web = ranAnHour();
    expect(writeStateFile(file, new Map([['web', web]]), new Date('2026-12-06T09:30:00Z'))).toBeUndefined();
    const back = readStateFile(file)!;
    expect(back.savedAt).toBe('2026-12-06T09:30:00.000Z');
    expect(back.services.get('web')).toEqual(JSON.parse(JSON.stringify(web)));
    // The forecast history came through: its minutes and 5-minute means.
    expect(back.services.get('web')?.decide.demand.values.length).toBe(web.decide.demand.values.length);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ kind: STATE_KIND, version: 1 });
  });

  it('refuses a file it did not write, naming it, and reads a service of another shape as fresh', () => {
    const d = dir();
    const cases: Array<[string, RegExp]> = [
      ['{"kind": "HeadroomLoopState", "version": 1, "services"', /^not JSON: /],
      ['{"kind": "Deployment", "version": 1, "services": {}}', /^not a Headroom state file \(kind "Deployment"\)$/],
      ['{"kind": "HeadroomLoopState", "version": 2, "services": {}}', /^version 2, this Headroom reads 1$/],
      ['{"kind": "HeadroomLoopState", "version": 1, "services": []}', /^services is not an object/],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const file = join(d, `bad${i}.json`);
      writeFileSync(file, text);
      const err = refused(file);
      expect(err.problems[0]).toMatchObject({ code: 'HR_STATE_FILE', file });
      expect(err.problems[0]?.message).toMatch(message);
      expect(err.problems[0]?.allowed).toMatch(/delete it to start afresh/);
    }
    const old = join(d, 'old.json');
    writeFileSync(
      old,
      JSON.stringify({
        kind: STATE_KIND,
        version: 1,
        savedAt: 'x',
        services: { web: { decide: { demand: 'garbage' } } },
      }),
    );
    expect(readStateFile(old)?.services.get('web')).toEqual(initialLoopState());
  });

  it('writes all or nothing, keeps the services it does not run, and says once when it cannot write', () => {
    const d = dir();
    const file = join(d, 'state.json');
    const api = ranAnHour();
    writeStateFile(file, new Map([['api', api]]), new Date());
    let web = initialLoopState();
    const errors: string[] = [];
    const keeper = new StateKeeper(
      file,
      () => new Map([['web', web]]),
      readStateFile(file),
      (m) => errors.push(m),
    );
    web = ranAnHour();
    expect(keeper.save()).toBe(true);
    const back = readStateFile(file)!;
    expect([...back.services.keys()].sort()).toEqual(['api', 'web']);
    expect(back.services.get('api')).toEqual(JSON.parse(JSON.stringify(api)));
    expect(readdirSync(d)).toEqual(['state.json']); // no temporary file left
    // A folder that does not exist: not thrown, said once, the loop goes on.
    const lost = new StateKeeper(
      join(d, 'gone', 'state.json'),
      () => new Map([['web', web]]),
      undefined,
      (m) => errors.push(m),
    );
    expect(lost.save()).toBe(false);
    expect(lost.stop()).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^state not saved to .*gone\/state\.json: ENOENT/);
  });

  it('a file it cannot write is refused at the start (HR_STATE_FILE), not an hour in', () => {
    const file = join(dir(), 'no-such-folder', 'state.json');
    let err: unknown;
    try {
      openState({ state: file }, undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeadroomError);
    expect((err as HeadroomError).problems[0]).toMatchObject({ code: 'HR_STATE_FILE', file });
    expect((err as HeadroomError).problems[0]?.message).toMatch(/^cannot be written: ENOENT/);
    // A new file in a folder that exists: written empty at once, read back as nothing saved.
    const fresh = join(dir(), 'state.json');
    expect(openState({}, fresh)).toEqual({ file: fresh });
    expect(readStateFile(fresh)?.services.size).toBe(0);
  });
});
