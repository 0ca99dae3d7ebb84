// README.md's "Spec files" section: its example spec plans as written, and its error lines are the
// ones `plan` prints for the spec the text names (they went stale once: no line:column, and a
// three-zone availability on one-zone nodes that `plan` refused).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem, HeadroomError } from '../../src/core/errors.ts';
import { planService } from '../../src/core/plan.ts';
import { parseSpecText } from '../../src/input/load.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(
  readme.indexOf('\n## Spec files\n'),
  readme.indexOf('\n## ', readme.indexOf('\n## Spec files\n') + 1),
);
const block = (lang: string, n = 0): string => {
  const blocks = [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))];
  return blocks[n]?.[1] ?? expect.unreachable(`no ${lang} block ${n}`);
};

describe('README "Spec files"', () => {
  it('the example spec is accepted and plans, its availability binding across the three zones', () => {
    const spec = parseSpecText(block('yaml'), 'spec.yaml');
    const svc = spec.services[0]!;
    const plan = planService(svc, { demandRps: svc.demandRps, ...(spec.cluster ? { cluster: spec.cluster } : {}) });
    expect(plan.feasible).toBe(true);
    expect(plan.binding).toBe('availability');
  });

  it('the error lines are what the named spec gives, in that order', () => {
    const text = `services:
  - name: a
    instance: { serviceTimeMs: 20, concurrency: 1, memory: lots, serviceTimeQuantilesMs: { p50: 10, p90: 30, p99: 25, p999: 40 } }
`;
    let got: string[] = [];
    try {
      parseSpecText(text, 'spec.yaml');
    } catch (err) {
      if (!(err instanceof HeadroomError)) throw err;
      got = err.problems.map(formatProblem);
    }
    const shown = section.slice(section.indexOf('on line 3 of spec.yaml:'));
    expect(got).toEqual(/```\n([\s\S]*?)```/.exec(shown)?.[1]?.trim().split('\n'));
  });
});
