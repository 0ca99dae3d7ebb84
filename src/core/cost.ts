// Money: what instances cost, from optional prices in the spec (`pricing:`, per service
// `services[].pricing`). Pure: `plan`, `simulate`, the dashboard (and a backtest) all call these.
//
// Two styles of price, never mixed in one block (the loader refuses that):
//   per resource  cpuHour × cores of instance.cpu + memoryGiBHour × GiB of instance.memory
//   per instance  instanceHour
// A month is 730 hours (365 × 24 ÷ 12), the convention cloud price lists use.
//
// Worked example: 4 instances of cpu 500m, memory 1Gi at cpuHour 0.0316, memoryGiBHour 0.0042:
//   one instance-hour = 0.5 CPU × 0.0316 + 1 GiB × 0.0042 = 0.0158 + 0.0042 = 0.02 USD
//   per month         = 4 × 0.02 × 730 h = 58.4 USD/month
// The same 4 instances at instanceHour 0.05 EUR: 4 × 0.05 × 730 = 146 EUR/month.

/** Hours in a month: 365 × 24 ÷ 12. */
export const HOURS_PER_MONTH = 730;
const GIB = 2 ** 30;

/** Prices of one service (the loader has resolved the file's block and the service's override). */
export interface PricingModel {
  /** ISO 4217 code, e.g. USD, EUR: a label, never converted. */
  currency: string;
  /** Per CPU core of the instance's request, per hour. */
  cpuHour?: number;
  /** Per GiB (2^30 bytes) of the instance's memory request, per hour. */
  memoryGiBHour?: number;
  /** Per instance, per hour, whatever its size. */
  instanceHour?: number;
}

/** What one instance is sized at (InstanceModel's fields). */
export interface InstanceSize {
  /** CPU request, millicores. */
  cpuMillis?: number;
  /** Memory request, bytes. */
  memoryBytes?: number;
}

/**
 * Cost of one instance for one hour. instanceHour wins if given; otherwise the per-resource
 * prices times the requests (a price whose request is absent counts 0: the loader refuses that).
 */
export function instanceHourCost(p: PricingModel, size: InstanceSize): number {
  if (p.instanceHour !== undefined) return p.instanceHour;
  const cpu = ((size.cpuMillis ?? 0) / 1000) * (p.cpuHour ?? 0);
  const memory = ((size.memoryBytes ?? 0) / GIB) * (p.memoryGiBHour ?? 0);
  return cpu + memory;
}

/** Cost of `instances` running for a whole month (730 h). */
export function monthlyCost(p: PricingModel, size: InstanceSize, instances: number): number {
  return instances * instanceHourCost(p, size) * HOURS_PER_MONTH;
}

/** Cost of `instanceSeconds` (Σ instances × seconds, e.g. a simulation's replicaSeconds). */
export function instanceSecondsCost(p: PricingModel, size: InstanceSize, instanceSeconds: number): number {
  return (instanceSeconds / 3600) * instanceHourCost(p, size);
}

/** Cost over `seconds` of time scaled to a month: × 730 h ÷ the hours it covers (0 for no time). */
export function perMonth(cost: number, seconds: number): number {
  return seconds > 0 ? (cost * HOURS_PER_MONTH * 3600) / seconds : 0;
}

/** Money with two decimals and its currency: 58.4 → "58.40 USD"; thousands separated for reading. */
export function formatMoney(amount: number, currency: string): string {
  const s = amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${s} ${currency}`;
}

/** A signed difference: +12.30 USD, −4.00 USD (the sign carries the meaning: more or less). */
export function formatMoneyDelta(amount: number, currency: string): string {
  const r = Math.round(amount * 100) / 100;
  if (r === 0) return formatMoney(0, currency);
  return `${r > 0 ? '+' : '−'}${formatMoney(Math.abs(r), currency)}`;
}

/** Rounded to cents, for JSON. */
export function roundMoney(x: number): number {
  return Math.round(x * 100) / 100;
}
