// `headroom import hpa`, the HPA's spec.metrics and spec.behavior → the policy's targetUtilization
// and behavior, naming every metric or field it cannot map (Unmap). Pure, as hpa.ts, which maps the
// rest of the object and calls these.
import type { HpaVersion } from './hpa.ts';

/** The HPA's own default CPU target, when it has no metrics (autoscaling/v1 and v2 alike). */
export const HPA_DEFAULT_CPU_UTILIZATION = 80;

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
export const obj = (v: unknown): Obj => (isObj(v) ? v : {});
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export type Unmap = (path: string, what: string, why: string) => void;

const WHY_RATE =
  'Headroom sizes from one request rate (spec.demand) and the capacity of one instance; a target on this metric has no request-rate meaning it could translate (if it counts requests, put it in spec.demand.query)';
const WHY_MEMORY =
  'Headroom does not size from memory use; give the memory request in service.instance.memory so it counts what fits on the nodes';
const WHY_CPU_VALUE =
  'a CPU amount per pod, not a share of the CPU request: targetUtilization cannot be derived from it without the pod’s request';
const WHY_CONTAINER =
  'a target on one container’s resource use; Headroom sizes the pod from its request rate, not from a container’s CPU or memory';

/** The CPU Utilization target → targetUtilization; every other metric is named in `unmap`. */
export function cpuTarget(
  version: HpaVersion,
  spec: Obj,
  unmap: Unmap,
  bad: (path: string, message: string, value: unknown, allowed: string) => void,
): { utilization: number; text: string; fromHpa: boolean } {
  // path: the metric; at: its value's key (where a bad value is reported).
  const found: { pct: number; path: string; at: string }[] = [];
  if (version === 'autoscaling/v1') {
    const pct = spec.targetCPUUtilizationPercentage;
    const at = 'spec.targetCPUUtilizationPercentage';
    if (pct !== undefined) found.push({ pct: Number(pct), path: at, at });
  } else {
    const metrics = Array.isArray(spec.metrics) ? spec.metrics : [];
    metrics.forEach((raw, i) => {
      const m = obj(raw);
      const path = `spec.metrics[${i}]`;
      const type = str(m.type) ?? '(no type)';
      const beta1 = version === 'autoscaling/v2beta1';
      if (type === 'Resource') {
        const r = obj(m.resource);
        const t = beta1 ? beta1Target(r) : obj(r.target);
        const res = str(r.name) ?? '?';
        if (res === 'cpu' && t.type === 'Utilization' && typeof t.averageUtilization === 'number') {
          const at = `${path}.resource.${beta1 ? 'targetAverageUtilization' : 'target.averageUtilization'}`;
          if (found.length === 0) found.push({ pct: t.averageUtilization, path, at });
          else unmap(path, `a second CPU target (${targetText(t)})`, `the first, at ${found[0]?.path}, is used`);
        } else {
          unmap(
            path,
            `Resource metric ${res} (${targetText(t)})`,
            res === 'memory' ? WHY_MEMORY : res === 'cpu' ? WHY_CPU_VALUE : WHY_RATE,
          );
        }
      } else if (type === 'ContainerResource') {
        const r = obj(m.containerResource);
        const t = beta1 ? beta1Target(r) : obj(r.target);
        unmap(
          path,
          `ContainerResource metric ${str(r.name) ?? '?'} of container ${str(r.container) ?? '?'} (${targetText(t)})`,
          WHY_CONTAINER,
        );
      } else if (type === 'Pods' || type === 'Object' || type === 'External') {
        const section = obj(m[type.toLowerCase()]);
        const metricName = beta1 ? str(section.metricName) : str(obj(section.metric).name);
        const t = beta1 ? beta1Target(section) : obj(section.target);
        const of =
          type === 'Object'
            ? ` of ${str(obj(beta1 ? section.target : section.describedObject).kind) ?? '?'} ${str(obj(beta1 ? section.target : section.describedObject).name) ?? '?'}`
            : '';
        unmap(path, `${type} metric ${metricName ?? '?'}${of} (${targetText(t)})`, WHY_RATE);
      } else {
        unmap(path, `a metric of type ${type}`, 'not a metric type of autoscaling/v2');
      }
    });
  }
  const first = found[0];
  // A target of 0 % or less is the HPA's mistake, not "no target": said, never replaced by 80 %.
  if (first && (!Number.isFinite(first.pct) || first.pct <= 0))
    bad(first.at, 'a CPU utilization target must be above 0 %', first.pct, '> 0');
  if (!first || !Number.isFinite(first.pct) || first.pct <= 0) {
    const none = version === 'autoscaling/v1' || !Array.isArray(spec.metrics) || spec.metrics.length === 0;
    const pct = HPA_DEFAULT_CPU_UTILIZATION;
    return {
      utilization: pct / 100,
      fromHpa: false,
      text: none
        ? `no metrics: the HPA's default CPU target ${pct} % → targetUtilization ${pct / 100}`
        : `no CPU utilization target: targetUtilization ${pct / 100} (the HPA's default CPU target)`,
    };
  }
  const u = Math.min(1, Math.round(first.pct) / 100);
  return {
    utilization: u,
    fromHpa: true,
    text:
      first.pct > 100
        ? `CPU target ${first.pct} % of the request (${first.path}) → targetUtilization 1 (at most 1: Headroom's utilization is the busy share of one instance's capacity)`
        : `CPU target ${first.pct} % (${first.path}) → targetUtilization ${u}`,
  };
}

/** autoscaling/v2beta1's flat target fields in the v2 shape. */
function beta1Target(s: Obj): Obj {
  if (s.targetAverageUtilization !== undefined)
    return { type: 'Utilization', averageUtilization: s.targetAverageUtilization };
  if (s.targetAverageValue !== undefined) return { type: 'AverageValue', averageValue: s.targetAverageValue };
  if (s.targetValue !== undefined) return { type: 'Value', value: s.targetValue };
  return {};
}

function targetText(t: Obj): string {
  const type = str(t.type) ?? 'no target';
  const v = type === 'Utilization' ? t.averageUtilization : type === 'AverageValue' ? t.averageValue : t.value;
  const shown = typeof v === 'number' || typeof v === 'string' ? String(v).slice(0, 40) : '?';
  return type === 'Utilization' ? `target ${shown} %` : type === 'no target' ? type : `target ${type} ${shown}`;
}

/**
 * behavior → the policy's behavior: the same HPA field names, ranges and defaults, copied as given
 * (unset fields keep the defaults, which are the HPA's); a scale-down window given is held in full
 * (forecast.quietPhase false). tolerance (HPA ≥ 1.33): scaleDown's becomes
 * behavior.tolerance; Headroom takes every scale-up of one instance, so scaleUp's has nowhere to go.
 */
export function mapBehavior(
  raw: unknown,
  bad: (path: string, message: string, value?: unknown, allowed?: string) => void,
  unmap: Unmap,
  mapped: string[],
): Record<string, unknown> | undefined {
  if (!isObj(raw)) {
    bad('spec.behavior', 'not a map', raw, 'scaleUp and scaleDown');
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const dir of ['scaleUp', 'scaleDown'] as const) {
    const d = raw[dir];
    if (d === undefined || d === null) continue;
    const path = `spec.behavior.${dir}`;
    if (!isObj(d)) {
      bad(path, 'not a map', d, 'stabilizationWindowSeconds, selectPolicy, policies');
      continue;
    }
    const o: Record<string, unknown> = {};
    const parts: string[] = [];
    if (d.stabilizationWindowSeconds !== undefined && d.stabilizationWindowSeconds !== null) {
      o.stabilizationWindowSeconds = d.stabilizationWindowSeconds;
      parts.push(`window ${String(d.stabilizationWindowSeconds)} s`);
    }
    if (d.selectPolicy !== undefined && d.selectPolicy !== null) {
      o.selectPolicy = d.selectPolicy;
      parts.push(`selectPolicy ${String(d.selectPolicy)}`);
    }
    if (Array.isArray(d.policies) && d.policies.length > 0) {
      o.policies = d.policies.map((p) => {
        const q = obj(p);
        return { type: q.type, value: q.value, periodSeconds: q.periodSeconds };
      });
      parts.push(
        `policies ${d.policies.map((p) => `${String(obj(p).value)} ${obj(p).type === 'Percent' ? '%' : String(obj(p).type)}/${String(obj(p).periodSeconds)} s`).join(', ')}`,
      );
    }
    if (d.tolerance !== undefined && d.tolerance !== null) {
      const t = toleranceOf(d.tolerance);
      if (t === undefined) bad(`${path}.tolerance`, 'not a quantity', d.tolerance, 'e.g. 0.05 or 50m');
      else if (dir === 'scaleDown') {
        out.tolerance = t;
        mapped.push(`behavior.scaleDown.tolerance ${t} → service.behavior.tolerance`);
      } else {
        unmap(
          `${path}.tolerance`,
          `scaleUp.tolerance ${t}`,
          'Headroom applies its tolerance on the way down only: an SLO count is a minimum, and every scale-up is taken',
        );
      }
    }
    for (const k of Object.keys(d)) {
      if (!['stabilizationWindowSeconds', 'selectPolicy', 'policies', 'tolerance'].includes(k)) {
        unmap(`${path}.${k}`, `behavior.${dir}.${k}`, 'not a field Headroom knows');
      }
    }
    if (Object.keys(o).length > 0) out[dir] = o;
    // The HPA holds its scale-down window always; Headroom's quiet phases and falls (decide() step
    // 4) would let a window the migrant chose go sooner, so an imported one is held in full.
    const held = dir === 'scaleDown' && o.stabilizationWindowSeconds !== undefined;
    if (held) out.forecast = { quietPhase: false };
    mapped.push(
      `behavior.${dir}: ${parts.length > 0 ? parts.join(', ') : 'defaults'} → service.behavior.${dir}` +
        (held ? ' (held in full in quiet phases and after falls too: behavior.forecast.quietPhase false)' : ''),
    );
  }
  return out;
}

/** 0.05, "0.05", "50m" → 0.05. */
function toleranceOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
}
