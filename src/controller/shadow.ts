// `headroom controller --shadow`: one dry-run round over every policy (issue 17, item 5). It writes
// nothing (no scale, no status, no Event); per target it reports the count Headroom recommends, why,
// and what that changes in money per month, from the policy's own `pricing` (src/core/cost.ts).
//
// E.g. checkout at 10 replicas where Headroom recommends 6, at 0.02 USD per instance-hour:
//   now 10 × 0.02 × 730 = 146.00 USD/month, would be 6 × … = 87.60, difference −58.40 USD/month.
import { monthlyCost, roundMoney } from '../core/cost.ts';
import type { ServiceModel } from '../core/model.ts';
import type { HeadroomPolicy } from './policy.ts';
import type { ReconcileResult } from './reconcile.ts';

export interface ShadowRow {
  namespace: string;
  policy: string;
  /** kind/name of the scale target. */
  target: string;
  /** The policy's own mode (the report runs every policy as shadow, whatever it says). */
  mode: 'active' | 'shadow';
  /** The target's replicas now (spec), when it could be read. */
  current?: number;
  /**
   * What Headroom recommends for the demand now (its sizing, before behaviour): where it would
   * settle. Absent when it could not decide (the reason says why).
   */
  recommended?: number;
  /**
   * What it would write this round: a first round holds scale-downs for the stabilization window
   * (a fresh state counts the current count as recommended), so this is often the current count.
   */
  wouldSet?: number;
  binding?: string;
  /** The decision's first reason, or why there is no decision. */
  reason: string;
  /** What `headroom plan` would warn about at this decision (absent when none). */
  warnings?: string[];
  /** Money per month at the current and the recommended count, with the policy's pricing. */
  money?: { currency: string; now?: number; wouldBe?: number; difference?: number };
}

export function shadowRow(
  p: HeadroomPolicy,
  r: ReconcileResult | undefined,
  model: ServiceModel | undefined,
): ShadowRow {
  const ref = p.spec.scaleTargetRef;
  const o = r?.outcome;
  const current = o?.reading?.specReplicas;
  const d = o?.decision?.valid ? o.decision : undefined;
  const first = o?.decision?.reasons[0]?.message;
  const reason = r
    ? (o?.invalid ??
      o?.conflict ??
      o?.targetOwned ??
      o?.targetError ??
      r.error ??
      first ??
      d?.binding ??
      'no decision (no valid metrics)')
    : 'not reconciled';
  const row: ShadowRow = {
    namespace: p.metadata.namespace,
    policy: p.metadata.name,
    target: `${ref.kind}/${ref.name}`,
    mode: p.spec.mode === 'shadow' ? 'shadow' : 'active',
    ...(current !== undefined ? { current } : {}),
    ...(d ? { recommended: d.recommended, wouldSet: d.desired, binding: d.binding } : {}),
    reason,
    ...(d && d.warnings.length > 0 ? { warnings: d.warnings } : {}),
  };
  const price = model?.pricing;
  if (price && model) {
    const size = { cpuMillis: model.instance.cpuMillis, memoryBytes: model.instance.memoryBytes };
    const now = current !== undefined ? monthlyCost(price, size, current) : undefined;
    const wouldBe = d ? monthlyCost(price, size, d.recommended) : undefined;
    row.money = {
      currency: price.currency,
      ...(now !== undefined ? { now: roundMoney(now) } : {}),
      ...(wouldBe !== undefined ? { wouldBe: roundMoney(wouldBe) } : {}),
      ...(now !== undefined && wouldBe !== undefined ? { difference: roundMoney(wouldBe - now) } : {}),
    };
  }
  return row;
}

/** Per currency: the month's money now, would-be, and the difference, over the rows that have both. */
export function shadowTotals(
  rows: readonly ShadowRow[],
): Array<{ currency: string; now: number; wouldBe: number; difference: number; targets: number }> {
  const by = new Map<string, { currency: string; now: number; wouldBe: number; difference: number; targets: number }>();
  for (const r of rows) {
    const m = r.money;
    if (!m || m.now === undefined || m.wouldBe === undefined) continue;
    const t = by.get(m.currency) ?? { currency: m.currency, now: 0, wouldBe: 0, difference: 0, targets: 0 };
    t.now = roundMoney(t.now + m.now);
    t.wouldBe = roundMoney(t.wouldBe + m.wouldBe);
    t.difference = roundMoney(t.wouldBe - t.now);
    t.targets++;
    by.set(m.currency, t);
  }
  return [...by.values()];
}
