// Pricing: the file's `pricing:` block and a service's own, checked on their own (one style, a
// price, a currency) and resolved to the prices one service is billed at.
import type { PricingModel } from '../core/cost.ts';
import type { ProblemDetail } from '../core/errors.ts';
import type { ServiceSpec, SpecFile } from './schema.ts';
import type { Where } from './service.ts';

export type PricingSpec = NonNullable<SpecFile['pricing']>;

/** The file's `pricing:` block and whether it passed its own checks (a bad one prices no service). */
export interface FilePricing {
  spec: PricingSpec;
  ok: boolean;
}

/**
 * The checks one pricing block needs on its own: one style (per resource or per instance), at
 * least one price, and a currency where nothing else gives one. True when it passed.
 */
export function pricingBlockProblems(
  p: PricingSpec,
  path: string,
  needsCurrency: boolean,
  problem: (p: Omit<ProblemDetail, 'file'>) => void,
): boolean {
  let ok = true;
  if (p.instanceHour !== undefined && (p.cpuHour !== undefined || p.memoryGiBHour !== undefined)) {
    ok = false;
    const other = p.cpuHour !== undefined ? 'cpuHour' : 'memoryGiBHour';
    problem({
      code: 'HR_PRICING',
      path: `${path}.instanceHour`,
      value: p.instanceHour,
      message: `both a price per instance and ${other}: ambiguous (is the instance price on top, or instead?)`,
      allowed: 'either instanceHour, or cpuHour and/or memoryGiBHour',
    });
  }
  if (p.instanceHour === undefined && p.cpuHour === undefined && p.memoryGiBHour === undefined) {
    ok = false;
    problem({
      code: 'HR_PRICING',
      path,
      value: p,
      message: 'no price',
      allowed: 'instanceHour, or cpuHour and/or memoryGiBHour (numbers ≥ 0)',
    });
  }
  if (needsCurrency && p.currency === undefined) {
    ok = false;
    problem({
      code: 'HR_PRICING',
      path: `${path}.currency`,
      message: 'required',
      allowed: 'an ISO 4217 code: USD, EUR, …',
    });
  }
  return ok;
}

/**
 * The prices one service is billed at: its own `pricing` (which replaces the file's whole block,
 * inheriting only its currency), else the file's. A per-resource price needs that resource's request.
 */
export function normalizePricing(
  svc: ServiceSpec,
  where: Where,
  at: (key: string) => string,
  problem: (p: Omit<ProblemDetail, 'file'>) => void,
): PricingModel | undefined {
  const own = svc.pricing;
  const file = where.pricing;
  if (own === undefined && (file === undefined || !file.ok)) return undefined;
  const block = own ?? file!.spec;
  const blockPath = own !== undefined ? at('pricing') : 'pricing';
  if (own !== undefined) {
    const inherited = file?.spec.currency;
    if (!pricingBlockProblems(own, blockPath, inherited === undefined, problem)) return undefined;
  }
  const currency = block.currency ?? file?.spec.currency;
  let ok = currency !== undefined;
  const needs = (price: 'cpuHour' | 'memoryGiBHour', key: 'cpu' | 'memory'): void => {
    if (block[price] === undefined || svc.instance[key] !== undefined) return;
    ok = false;
    problem({
      code: 'HR_PRICING',
      path: at(`instance.${key}`),
      message: `service ${svc.name}: required by ${blockPath}.${price} (a price per ${key === 'cpu' ? 'CPU core' : 'GiB'} of instance.${key})`,
      allowed: `instance.${key} (${key === 'cpu' ? '500m, 2' : '256Mi, 1Gi'}), or instanceHour instead`,
    });
  };
  needs('cpuHour', 'cpu');
  needs('memoryGiBHour', 'memory');
  if (!ok || currency === undefined) return undefined;
  return {
    currency,
    ...(block.instanceHour !== undefined ? { instanceHour: block.instanceHour } : {}),
    ...(block.cpuHour !== undefined ? { cpuHour: block.cpuHour } : {}),
    ...(block.memoryGiBHour !== undefined ? { memoryGiBHour: block.memoryGiBHour } : {}),
  };
}
