// An imported policy as YAML text, with comments saying where each value came from, what was not
// mapped and what to fill in. Pure: text in, text out.
import { Document, isMap, isScalar, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { formatProblem } from '../core/errors.ts';
import { DEMAND_METRIC, PROFILE_KEY, type ImportedPolicy } from './hpa.ts';

/**
 * What the user must still give before `mode: active`, one line each (comments and stderr). With
 * no policy: the same for several, with <name> and <namespace> in place of each one's.
 */
export function fillIn(p?: ImportedPolicy): string[] {
  const name = p?.policy.metadata.name ?? '<name>';
  const cm = p?.profileConfigMap ?? { name: `<name>-capacity`, key: PROFILE_KEY };
  const ns = p ? p.policy.metadata.namespace : '<namespace>';
  return [
    `capacity of one instance: ConfigMap ${cm.name}, key ${cm.key}: a \`headroom loadtest\` profile (headroom loadtest http://<one pod>/ --slo-latency-ms <SLO> --profile ${name}.profile.json; kubectl create configmap ${cm.name}${ns !== undefined ? ` -n ${ns}` : ''} --from-file=${cm.key}=${name}.profile.json), or service.instance { serviceTimeMs, concurrency } in place of spec.capacity`,
    'latency SLO: service.slo { latencyMs, percentile } (the HPA has none; without one Headroom sizes by targetUtilization alone, as the HPA did)',
    // The SLO's count depends on how requests reach the pods, and an HPA's pods are most often behind
    // a ClusterIP Service: there the default leastRequests sizes single-slot pods too few (3 where 5
    // are needed in docs/controller.md's example).
    'with an SLO, how requests reach the pods: service.loadBalancing random for a ClusterIP Service through kube-proxy; the default, leastRequests, assumes a balancer that holds requests for a free slot (Knative activator, HAProxy maxconn) and is optimistic behind Envoy/Istio LEAST_REQUEST (docs/controller.md)',
    `demand: spec.demand.query must read the service's request counter (requests/s)${p ? `; the suggestion assumes ${DEMAND_METRIC} with the namespace and pod labels` : ''}; a counter of answers reads a saturated pool's capacity, so if the pods export requests in flight add + sum(deriv(<gauge>{…}[1m])) to read what arrives`,
  ];
}

/** One policy as a YAML document (no leading `---`). */
export function policyYaml(p: ImportedPolicy): string {
  const doc = new Document(p.policy);
  const policyName = p.policy.metadata.name;
  const header = [
    `Imported by \`headroom import hpa\` from ${p.from.apiVersion} HorizontalPodAutoscaler ${p.from.id}:`,
    ...p.mapped.map((m) => `  ${m}`),
  ];
  if (p.unmapped.length > 0) {
    header.push('NOT MAPPED (the policy does not act on these):');
    for (const u of p.unmapped) header.push(`  ${formatProblem({ ...u, file: undefined })}`);
  }
  header.push(
    'FILL IN before mode: active:',
    ...fillIn(p).map((f) => `  - ${f}`),
    `mode: shadow: Headroom decides and reports (kubectl get hrp ${policyName} -o wide) and never writes the scale.`,
    `Compare its desired count with the HPA's (kubectl get hpa ${p.from.id.split('/').pop() ?? policyName}) for a while,`,
    'then delete the HPA and set mode: active (while the HPA exists, an active policy yields to it).',
  );
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');

  const spec = mapAt(doc, 'spec');
  flow(spec, 'scaleTargetRef');
  comment(spec, 'mode', ' switch to active after comparing with the HPA (and deleting it)');
  const service = mapAt(spec, 'service');
  const instance = pairOf(service, 'instance');
  if (instance && isScalar(instance.key)) {
    (instance.key as Scalar).commentBefore =
      ' FILL IN: { serviceTimeMs, concurrency } here, or the profile in spec.capacity';
  }
  flow(service, 'instance');
  comment(
    service,
    'targetUtilization',
    p.cpuFromHpa ? ' from the HPA CPU target' : ` the HPA's default CPU target (it has none of its own)`,
  );
  flow(service, 'replicas');
  const replicas = pairOf(service, 'replicas');
  if (replicas && isScalar(replicas.key)) {
    (replicas.key as Scalar).commentBefore = ' FILL IN: slo: { latencyMs: <ms>, percentile: 99 }';
  }
  const behavior = service.get('behavior', true);
  if (isMap(behavior)) {
    for (const dir of ['scaleUp', 'scaleDown']) {
      const d = behavior.get(dir, true);
      if (isMap(d)) {
        const policies = d.get('policies', true) as { items?: unknown[] } | undefined;
        for (const item of policies?.items ?? []) if (isMap(item)) item.flow = true;
      }
    }
    flow(behavior, 'forecast');
    comment(behavior, 'forecast', " the HPA's scale-down window, held in full in quiet phases and after falls too");
  }
  const capacity = mapAt(spec, 'capacity');
  const profile = mapAt(capacity, 'profile');
  flow(profile, 'configMapKeyRef');
  comment(profile, 'configMapKeyRef', ' FILL IN: a `headroom loadtest` profile (see above)');
  const demand = mapAt(spec, 'demand');
  comment(demand, 'query', ' FILL IN: check the metric and labels');
  return doc.toString({ lineWidth: 0 });
}

/** All policies, one YAML stream. */
export function policiesYaml(list: readonly ImportedPolicy[]): string {
  return list.map((p, i) => `${i > 0 ? '---\n' : ''}${policyYaml(p)}`).join('');
}

/** The map under `key` (the policy's own sections: always maps). */
function mapAt(map: YAMLMap | Document, key: string): YAMLMap {
  const v: unknown = map.get(key, true);
  if (!isMap(v)) throw new Error(`policyYaml: ${key} is not a map`);
  return v;
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === key) as Pair | undefined;
}

function flow(map: YAMLMap, key: string): void {
  const v = map.get(key, true);
  if (isMap(v)) v.flow = true;
}

function comment(map: YAMLMap, key: string, text: string): void {
  const v = pairOf(map, key)?.value;
  if (v && (isMap(v) || isScalar(v))) v.comment = text;
}
