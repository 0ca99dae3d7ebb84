// The spec's `cluster:` nodes (count expanded, bounded) and a service's `usage:` samples.
import type { ClusterModel, NodeModel } from '../core/cluster.ts';
import type { ProblemDetail } from '../core/errors.ts';
import { parseCpuMillis, parseMemoryBytes } from '../core/quantity.ts';
import type { UsageSample } from '../core/vertical.ts';
import type { ServiceSpec, SpecFile } from './schema.ts';
import { quantityField, type Where } from './service.ts';
import { joinPath } from './validate.ts';

/** Nodes after `count` expansion: the schema's limit on entries, so a count cannot multiply it. */
export const MAX_CLUSTER_NODES = 100_000;

export function normalizeCluster(
  nodes: NonNullable<SpecFile['cluster']>['nodes'],
  file: string,
  problems: ProblemDetail[],
): ClusterModel {
  const out: NodeModel[] = [];
  // Counted before expanding: 10,000 entries × count 10,000 would be 10^8 node objects.
  let total = 0;
  for (const n of nodes) total += n.count ?? 1;
  if (total > MAX_CLUSTER_NODES) {
    problems.push({
      code: 'HR_INPUT_TOO_LARGE',
      file,
      path: 'cluster.nodes',
      value: total,
      message: `the nodes (count summed) come to ${total}`,
      allowed: `at most ${MAX_CLUSTER_NODES} nodes in all`,
    });
    return { nodes: out };
  }
  nodes.forEach((n, i) => {
    const problem = (p: Omit<ProblemDetail, 'file'>): void => void problems.push({ ...p, file });
    const cpu = quantityField(n.cpu, 'cpu', `cluster.nodes[${i}].cpu`, problem);
    const memory = quantityField(n.memory, 'memory', `cluster.nodes[${i}].memory`, problem);
    if (cpu === undefined || memory === undefined) return;
    const count = n.count ?? 1;
    for (let k = 1; k <= count; k++) {
      out.push({
        name: count > 1 ? `${n.name}-${k}` : n.name,
        ...(n.zone !== undefined ? { zone: n.zone } : {}),
        cpuMillis: cpu,
        memoryBytes: memory,
      });
    }
  });
  return { nodes: out };
}

export function normalizeUsage(
  samples: NonNullable<ServiceSpec['usage']>,
  where: Where,
  problems: ProblemDetail[],
): UsageSample[] {
  const out: UsageSample[] = [];
  samples.forEach((s, i) => {
    const path = joinPath(where.path, `usage[${i}]`);
    const problem = (p: Omit<ProblemDetail, 'file'>): void => {
      problems.push(where.file !== undefined ? { ...p, file: where.file } : p);
    };
    const t = typeof s.t === 'number' ? s.t : Date.parse(s.t) / 1000;
    if (!Number.isFinite(t)) {
      problem({
        code: 'HR_SPEC_INVALID',
        path: `${path}.t`,
        value: s.t,
        message: 'not a time',
        allowed: 'unix seconds or ISO 8601',
      });
      return;
    }
    const cpu = s.cpu !== undefined ? parseCpuMillis(s.cpu) : undefined;
    const memory = s.memory !== undefined ? parseMemoryBytes(s.memory) : undefined;
    if (s.cpu !== undefined && cpu === undefined) {
      problem({
        code: 'HR_QUANTITY',
        path: `${path}.cpu`,
        value: s.cpu,
        message: 'not a cpu quantity',
        allowed: '250m, 0.5, 2',
      });
    }
    if (s.memory !== undefined && memory === undefined) {
      problem({
        code: 'HR_QUANTITY',
        path: `${path}.memory`,
        value: s.memory,
        message: 'not a memory quantity',
        allowed: '256Mi, 1Gi',
      });
    }
    out.push({
      t,
      ...(cpu !== undefined ? { cpuMillis: cpu } : {}),
      ...(memory !== undefined ? { memoryBytes: memory } : {}),
    });
  });
  return out;
}
