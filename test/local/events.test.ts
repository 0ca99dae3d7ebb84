// What `headroom run` prints of its supervisors' events (src/local/cluster-views.ts EventFollower,
// src/local/view.ts eventLine): each once, oldest first, named by service in a graph run. Two
// supervisors that never start a process, on a hand-stepped clock; the real stream (a demo's
// Started/Ready/Stopped, a killed instance's Crashed) is in test/e2e/run-cli.test.ts.
import { describe, expect, it } from 'vitest';
import { EventFollower, eventJson } from '../../src/local/cluster-views.ts';
import { Supervisor } from '../../src/local/supervisor.ts';
import { eventLine } from '../../src/local/view.ts';
import type { Clock } from '../../src/ports/clock.ts';

function supervisor(clock: { t: number }): Supervisor {
  const c: Clock = { now: () => clock.t, monotonic: () => clock.t, sleep: async () => undefined };
  return new Supervisor({ command: ['true'], clock: c });
}

describe('EventFollower', () => {
  it('each event once, the oldest first across services, each named by its service', () => {
    const clock = { t: Date.UTC(2026, 11, 5, 1, 52, 0) / 1000 };
    const api = supervisor(clock);
    const db = supervisor(clock);
    const follower = new EventFollower([
      { service: 'api', supervisor: api },
      { service: 'db', supervisor: db },
    ]);
    expect(follower.next()).toEqual([]);

    db.note('Decision', 'scaled 1 → 2');
    clock.t += 1;
    api.note('Alert', 'webhook answered 500', true);
    clock.t += 1;
    db.note('Decision', 'scaled 2 → 3');
    const first = follower.next();
    expect(first.map((x) => `${x.service} ${x.event.message}`)).toEqual([
      'db scaled 1 → 2',
      'api webhook answered 500',
      'db scaled 2 → 3',
    ]);
    expect(follower.next()).toEqual([]); // nothing twice

    api.note('Decision', 'paused');
    expect(follower.next().map((x) => x.event.message)).toEqual(['paused']);
  });

  it('after more than the log keeps, the newest it kept', () => {
    const clock = { t: 1_800_000_000 };
    const sup = supervisor(clock);
    const follower = new EventFollower([{ supervisor: sup }]);
    for (let i = 0; i < 250; i++) {
      clock.t += 1;
      sup.note('Decision', `n${i}`);
    }
    const got = follower.next();
    expect(got).toHaveLength(200);
    expect(got[0]!.event.message).toBe('n50');
    expect(got.at(-1)!.event.message).toBe('n249');
    expect(got[0]).not.toHaveProperty('service');
  });
});

describe('an event as a line', () => {
  const e = {
    at: '2026-12-05T01:52:24.512Z',
    type: 'Crashed',
    instance: 'i1',
    message: 'killed by SIGKILL',
    warning: true,
  };

  it('a log line: time, "!" for a warning, the service in a graph run, type, instance, message', () => {
    expect(eventLine(e)).toBe('01:52:24 ! Crashed i1 killed by SIGKILL');
    expect(eventLine(e, 'api')).toBe('01:52:24 ! api Crashed i1 killed by SIGKILL');
    const { instance: _i, ...noInstance } = e;
    expect(eventLine({ ...noInstance, type: 'Decision', message: 'scaled 1 → 2', warning: false })).toBe(
      '01:52:24   Decision scaled 1 → 2',
    );
  });

  it('a JSON line: `kind` is the event type, `type` the line type', () => {
    expect(eventJson(e)).toEqual({
      type: 'event',
      at: e.at,
      kind: 'Crashed',
      instance: 'i1',
      message: 'killed by SIGKILL',
      warning: true,
    });
    expect(eventJson(e, 'db')).toMatchObject({ type: 'event', service: 'db', kind: 'Crashed' });
  });
});
