// The decider's state through the REAL kube-apiserver + etcd and the HeadroomPolicy CRD as shipped
// (deploy/crds/): the controller writes it into status.decideState (KubernetesObjects.writeStatus)
// and a later round reads it back through restoreState. Every field decide() keeps must survive
// that, the burst episodes' too (the open 6-tuple, the scores and `firstRise`, which says whether
// the first-burst prior is spent): a schema that pruned `firstRise` would spend the prior at every
// restart, and the controller would size a service's first crowd for itself where the simulator
// sizes it for 2×.
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesObjects } from '../../src/adapters/actuators/kubernetes/objects.ts';
import { makeClients } from '../../src/adapters/kubernetes/client.ts';
import { decide, initialDecideState, type DecideState } from '../../src/core/decide.ts';
import { GROUP, PLURAL, VERSION } from '../../src/controller/crd.ts';
import { restoreState } from '../../src/loop/step.ts';
import { model } from '../core/decide-model.ts';
import { applyCrd, createNamespace, createPolicy, deleteNamespace, ensureCluster, readPolicy } from './support/kube.ts';
import { e2ePolicy } from './support/controller.ts';

let kc: KubeConfig;
let ns: string;

beforeAll(async () => {
  kc = (await ensureCluster()).kc;
  await applyCrd(kc);
  ns = await createNamespace(kc, 'hr-state');
}, 1_200_000);

afterAll(async () => {
  if (kc && ns) await deleteNamespace(kc, ns);
});

/** decide() every 15 s over [from, to) at (stable, burst) demand, from `state`; the count asked is ready at once. */
function run(state: DecideState, from: number, to: number, stable: number, burst: number): DecideState {
  const m = model({ burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: true } });
  let current = 2;
  for (let t = from; t < to; t += 15) {
    const r = decide(
      m,
      state,
      { readyReplicas: current, currentReplicas: current, demandRps: stable, burstDemandRps: burst },
      t,
    );
    state = r.state;
    current = r.decision.desired;
  }
  return state;
}

describe('the decider state through the apiserver', () => {
  it('keeps the burst episodes (firstRise, scores, the open episode) as decide() wrote them', async () => {
    // A cold start's burst, scored 1× before the level was known (firstRise 0), then a crowd past
    // the history sized with the prior and still open (its 6th number 1).
    let state = run(initialDecideState(), 0, 600, 100, 100);
    state = run(state, 600, 615, 150, 300);
    state = run(state, 615, 2400, 100, 100);
    state = run(state, 2400, 2415, 150, 500);
    expect(state.bursts).toMatchObject({ firstRise: 0, scores: [[600, 1]] });
    expect(state.bursts?.open?.[5]).toBe(1);

    await createPolicy(kc, ns, e2ePolicy(ns, 'p', 'web', { query: 'vector(10)' }));
    const objects = new KubernetesObjects(makeClients(kc), {
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      kind: 'HeadroomPolicy',
      identity: 'state-test',
    });
    const saved = JSON.parse(JSON.stringify(state)) as DecideState;
    expect(await objects.writeStatus({ namespace: ns, name: 'p' }, { decideState: saved })).toBe(true);

    const back = restoreState((await readPolicy(kc, ns, 'p')).status?.decideState);
    expect(back.bursts).toEqual(saved.bursts);
    expect(back).toEqual(saved);
  });
});
