// Reads a spec file, validates it once (schema, then the rules that span keys), and returns frozen
// ServiceModels. Every problem names file, key path, value and what is allowed; all problems are
// reported together, and nothing is returned when there is any (no half-applied spec).
// The pieces: yaml.ts reads and locates, validate.ts maps zod issues and throws them together,
// service.ts / pricing.ts / cluster.ts map one part each, graph-rules.ts checks a call graph.
import { dirname, resolve } from 'node:path';
import type { ClusterModel } from '../core/cluster.ts';
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';
import type { ServiceModel } from '../core/model.ts';
import type { UsageSample } from '../core/vertical.ts';
import { normalizeCluster, normalizeUsage } from './cluster.ts';
import { graphChecks } from './graph-rules.ts';
import { pricingBlockProblems, type FilePricing } from './pricing.ts';
import { readInputFile, SPEC_MAX_BYTES } from './read.ts';
import { serviceSpecSchema, specFileSchema, type SpecFile } from './schema.ts';
import { normalizeService, type Where } from './service.ts';
import { checkSchema, deepFreeze, throwProblems, type IssueMapping } from './validate.ts';
import { readSource, type InputSource } from './yaml.ts';

// Read by the controller's policy mapping (src/controller/policy.ts) from here.
export { graphUnsupported } from './graph-rules.ts';

export interface LoadedSpec {
  /** Path as given. */
  source: string;
  services: ServiceModel[];
  cluster?: ClusterModel;
  /** Usage samples per service name (vertical advice). */
  usage: Map<string, UsageSample[]>;
  /** The parsed file, for sections other commands own (`run`, `alerts`, `simulate`). */
  raw: SpecFile;
}

/** Reads and validates a YAML or JSON spec file. Throws HeadroomError listing every problem. */
export function loadSpecFile(file: string): LoadedSpec {
  const text = readInputFile(file, { what: 'the spec', maxBytes: SPEC_MAX_BYTES });
  return parseSpecText(text, file, dirname(resolve(file)));
}

/** `plan -`: the spec from stdin, with the same size cap as a file. */
export function loadSpecStdin(): LoadedSpec {
  return parseSpecText(readInputFile(0, { what: 'the spec', maxBytes: SPEC_MAX_BYTES }), '<stdin>', process.cwd());
}

/** The spec's own reading of a quantity that fits no branch (cpu: true). */
export const SPEC_ISSUES: IssueMapping = { unionAllowed: 'a string such as 500m / 256Mi, or a number' };

/** Parses spec text (YAML or JSON); `file` names it in errors. */
export function parseSpecText(text: string, file: string, baseDir = '.'): LoadedSpec {
  const source = readSpecSource(text, file);
  const checked = checkSpec(source, baseDir);
  throwProblems(checked.problems, source);
  return deepFreeze(checked.spec as LoadedSpec);
}

/** The spec text read, with the positions its problems are located by; parse errors are thrown. */
export function readSpecSource(text: string, file: string): InputSource {
  const source = readSource(text, file);
  specShape(source.data, file);
  return source;
}

/**
 * Every problem of a spec, none thrown (a command that reads more of the file adds its own and
 * throws them together); `spec` when the schema passed (not frozen, and not usable if problems).
 */
export function checkSpec(source: InputSource, baseDir = '.'): { spec?: LoadedSpec; problems: ProblemDetail[] } {
  const file = source.file;
  const problems: ProblemDetail[] = [];
  const spec = checkSchema(specFileSchema, source.data, { file }, problems, SPEC_ISSUES);
  if (!spec) return { problems: [...problems, ...beyondSchema(source.data, file, baseDir)] };
  const services: ServiceModel[] = [];
  const usage = new Map<string, UsageSample[]>();
  const seen = new Map<string, number>();
  /** The first service priced in each currency. */
  const currencies = new Map<string, { index: number; name: string }>();
  const pricing: FilePricing | undefined = spec.pricing
    ? {
        spec: spec.pricing,
        ok: pricingBlockProblems(spec.pricing, 'pricing', true, (p) => problems.push({ ...p, file })),
      }
    : undefined;
  spec.services.forEach((svc, i) => {
    const where = { file, path: `services[${i}]`, baseDir, ...(pricing ? { pricing } : {}) };
    const first = seen.get(svc.name);
    if (first !== undefined) problems.push(duplicateName(file, i, svc.name, first));
    seen.set(svc.name, i);
    const r = normalizeService(svc, where);
    problems.push(...r.problems);
    // From the spec, not the model: a service whose pricing has another problem (instance.cpu
    // missing) still shows a second currency in the same report.
    const currency =
      r.model?.pricing?.currency ??
      (svc.pricing ? (svc.pricing.currency ?? spec.pricing?.currency) : spec.pricing?.currency);
    if (currency !== undefined && !currencies.has(currency)) currencies.set(currency, { index: i, name: svc.name });
    if (r.model) services.push(r.model);
    if (svc.usage) usage.set(svc.name, normalizeUsage(svc.usage, where, problems));
  });
  const cluster = spec.cluster ? normalizeCluster(spec.cluster.nodes, file, problems) : undefined;
  const [firstCurrency, ...otherCurrencies] = [...currencies];
  for (const [currency, s] of otherCurrencies) {
    problems.push({
      code: 'HR_PRICING',
      file,
      path: `services[${s.index}].pricing.currency`,
      value: currency,
      message: `service ${s.name}: priced in ${currency}, but ${firstCurrency?.[1].name} in ${firstCurrency?.[0]}: totals add services, so one file has one currency`,
      allowed: firstCurrency?.[0] ?? '',
    });
  }
  if (cluster) {
    const zones = new Set(cluster.nodes.map((n) => n.zone).filter((z) => z !== undefined));
    services.forEach((m, i) => {
      if (zones.size > 0 && m.availability.zones > zones.size) {
        problems.push({
          code: 'HR_AVAILABILITY_IMPOSSIBLE',
          file,
          path: `services[${i}].availability.zones`,
          value: m.availability.zones,
          message: `the cluster's nodes are in ${zones.size} zone${zones.size > 1 ? 's' : ''} (${[...zones].join(', ')})`,
          allowed: `1..${zones.size}`,
        });
      }
    });
  }
  graphChecks(spec, services, file, problems);
  return { spec: { source: file, services, ...(cluster ? { cluster } : {}), usage, raw: spec }, problems };
}

/** services[i] reuses the name of services[first]. */
function duplicateName(file: string, i: number, name: string, first: number): ProblemDetail {
  return {
    code: 'HR_DUPLICATE_NAME',
    file,
    path: `services[${i}].name`,
    value: name,
    message: `the name is already used by services[${first}]`,
    allowed: 'a name unique in the file',
  };
}

/**
 * With the file's schema failed, what its services that pass the schema on their own still get
 * wrong (a quantity, min > max, a name used twice), so one run reports every problem of the file:
 * `concurrency: 0` in one service and `cpu: lots` in another are two lines, not the first alone.
 */
function beyondSchema(data: unknown, file: string, baseDir: string): ProblemDetail[] {
  const raw = (data as { services?: unknown } | null)?.services;
  if (!Array.isArray(raw)) return [];
  const out: ProblemDetail[] = [];
  const seen = new Map<string, number>();
  raw.forEach((s: unknown, i) => {
    const name = (s as { name?: unknown } | null)?.name;
    const first = typeof name === 'string' ? seen.get(name) : undefined;
    if (typeof name === 'string' && first !== undefined) out.push(duplicateName(file, i, name, first));
    else if (typeof name === 'string') seen.set(name, i);
    const svc = serviceSpecSchema.safeParse(s);
    if (svc.success) out.push(...normalizeService(svc.data, { file, path: `services[${i}]`, baseDir }).problems);
  });
  return out;
}

/**
 * Validates ONE service object (already parsed: e.g. a HeadroomPolicy's `spec.service`) and returns
 * its ServiceModel, with the same checks and messages as a spec file.
 */
export function serviceModelFromSpec(obj: unknown, where: Where = {}): ServiceModel {
  const problems: ProblemDetail[] = [];
  const svc = checkSchema(serviceSpecSchema, obj, where, problems, SPEC_ISSUES);
  if (!svc) throw new HeadroomError(problems);
  const r = normalizeService(svc, where);
  if (r.problems.length > 0 || !r.model) throw new HeadroomError(r.problems);
  return deepFreeze(r.model);
}

/** A spec is a map: anything else is refused before the schema (and its contents never shown). */
function specShape(data: unknown, file: string): void {
  if (data === null || data === undefined) {
    throw new HeadroomError({
      code: 'HR_SPEC_INVALID',
      file,
      message: 'the file is empty',
      allowed: 'a map with `services:`',
    });
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    // No value: this is likely not a spec at all (a token file, /proc/self/environ), and its
    // contents must not reach the terminal or a CI log.
    throw new HeadroomError({
      code: 'HR_SPEC_INVALID',
      file,
      message: `not a spec: the file is ${Array.isArray(data) ? 'a list' : `a single ${typeof data}`}, not a map`,
      allowed: 'a map with `services:`',
    });
  }
}
