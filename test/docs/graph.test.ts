// docs/graph.md's worked example is what `plan examples/graph.yaml` gives: its table is checked here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planGraph } from '../../src/core/graph.ts';
import { loadSpecFile } from '../../src/input/load.ts';

describe('docs/graph.md worked example', () => {
  const doc = readFileSync(new URL('../../docs/graph.md', import.meta.url), 'utf8');
  const plan = planGraph(loadSpecFile('examples/graph.yaml').services, { equalSplit: true });

  it('lists each service with the counts the plan gives', () => {
    for (const s of plan.services) {
      const row = new RegExp(
        `^\\| ${s.name} +\\| ${s.demandRps} rps +\\| ${s.ownReplicas} +\\| ${s.replicas} +\\|`,
        'm',
      );
      expect(doc, s.name).toMatch(row);
    }
  });

  it('gives the totals of the split and of the equal split', () => {
    expect(doc).toContain(`Total ${plan.total} instances`);
    expect(doc).toContain(`needs ${plan.equalSplit?.total} instances`);
  });
});
