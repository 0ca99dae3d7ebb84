// Reads a spec file, validates it once (schema, then the rules that span keys), and returns frozen
// ServiceModels. Every problem names file, key path, value and what is allowed; all problems are
// reported together, and nothing is returned when there is any (no half-applied spec).
import { dirname, resolve } from 'node:path';
import { Lexer, LineCounter, parseAllDocuments, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { ClusterModel, NodeModel } from '../core/cluster.ts';
import type { PricingModel } from '../core/cost.ts';
import { calleesFirst, graphProblems, propagateDemand } from '../core/call-graph.ts';
import { HeadroomError, keyPath, type ProblemDetail } from '../core/errors.ts';
import { graphFloor } from '../core/graph.ts';
import {
  defaultBehavior,
  type BehaviorModel,
  type DirectionBehavior,
  type RatePolicy,
  type ServiceModel,
  type ServiceTimeModel,
} from '../core/model.ts';
import { parseCpuMillis, parseMemoryBytes } from '../core/quantity.ts';
import { impliedCv, minimumMeanMs } from '../core/service-time.ts';
import type { UsageSample } from '../core/vertical.ts';
import { MIN_PROBE_SAMPLES, capacityProfileSchema, type CapacityProfile } from './profile.ts';
import { readInputFile, SPEC_MAX_BYTES } from './read.ts';
import { serviceSpecSchema, specFileSchema, type ServiceSpec, type SpecFile } from './schema.ts';

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

export interface Where {
  /** File the object came from (for messages). */
  file?: string;
  /** Key path prefix of the object inside that file, e.g. `services[2]` or `spec.service`. */
  path?: string;
  /** Directory that relative paths (profiles) resolve against. */
  baseDir?: string;
  /** A capacity profile read elsewhere (the controller's ConfigMap), used as instance.profile would be. */
  profile?: CapacityProfile;
  /** The file's `pricing:` block, already checked; a service's own `pricing` replaces it. */
  pricing?: FilePricing;
}

type PricingSpec = NonNullable<SpecFile['pricing']>;

/** The file's `pricing:` block and whether it passed its own checks (a bad one prices no service). */
interface FilePricing {
  spec: PricingSpec;
  ok: boolean;
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

/** Parses spec text (YAML or JSON); `file` names it in errors. */
export function parseSpecText(text: string, file: string, baseDir = '.'): LoadedSpec {
  const data = parseYamlOrJson(text, file);
  const parsed = specFileSchema.safeParse(data);
  if (!parsed.success) throw new HeadroomError(zodProblems(parsed.error, data, { file }));
  const spec = parsed.data;
  const problems: ProblemDetail[] = [];
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
    if (first !== undefined) {
      problems.push({
        code: 'HR_DUPLICATE_NAME',
        file,
        path: `services[${i}].name`,
        value: svc.name,
        message: `the name is already used by services[${first}]`,
        allowed: 'a name unique in the file',
      });
    }
    seen.set(svc.name, i);
    const r = normalizeService(svc, where);
    problems.push(...r.problems);
    if (r.model?.pricing && !currencies.has(r.model.pricing.currency)) {
      currencies.set(r.model.pricing.currency, { index: i, name: svc.name });
    }
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
  if (problems.length > 0) throw new HeadroomError(problems);
  return deepFreeze({ source: file, services, ...(cluster ? { cluster } : {}), usage, raw: spec });
}

/** Relative gap between a called service's own demand.rps and what its callers send before it is an error. */
const DEMAND_TOLERANCE = 0.001;

/**
 * A call graph's checks (src/core/call-graph.ts), then what the graph gives its members: the demand
 * its callers send (a called service's demand.rps is optional and must agree when given), a target
 * utilization of 0.9 below an end-to-end SLO (as under a service SLO: latency is checked by the
 * queueing model), and the end-to-end floor no count can beat (HR_GRAPH_SLO_FLOOR).
 */
function graphChecks(spec: SpecFile, services: ServiceModel[], file: string, problems: ProblemDetail[]): void {
  if (!spec.services.some((s) => s.calls !== undefined || s.slo?.scope === 'endToEnd')) return;
  const structural = graphProblems(
    spec.services.map((s) => ({
      name: s.name,
      calls: s.calls?.map((c) => ({ service: c.service, perRequest: c.perRequest, mode: c.mode ?? 'sequential' })),
      endToEnd: s.slo?.scope === 'endToEnd',
    })),
    file,
  );
  problems.push(...structural);
  // The rest needs every service normalized and a sound graph.
  if (problems.length > 0 || services.length !== spec.services.length) return;
  const called = new Set(services.flatMap((m) => (m.calls ?? []).map((c) => c.service)));
  const demand = propagateDemand(services, (n) => services.find((m) => m.name === n)?.demandRps ?? 0);
  spec.services.forEach((raw, i) => {
    const m = services[i] as ServiceModel;
    if (!called.has(m.name)) return;
    const rps = demand.get(m.name) ?? 0;
    if (raw.demand !== undefined && Math.abs(raw.demand.rps - rps) > DEMAND_TOLERANCE * Math.max(rps, 1e-9)) {
      problems.push({
        code: 'HR_GRAPH_DEMAND',
        file,
        path: `services[${i}].demand.rps`,
        value: raw.demand.rps,
        message: `${m.name} is called by other services, which send it ${round(rps)} rps`,
        allowed: `${round(rps)} (or leave demand out: the graph gives it)`,
      });
    }
    m.demandRps = rps;
  });
  const entry = services.find((m) => m.endToEndSlo);
  if (!entry?.endToEndSlo) return;
  const members = new Set(calleesFirst((n) => services.find((m) => m.name === n)?.calls ?? [], entry.name));
  spec.services.forEach((raw, i) => {
    const m = services[i] as ServiceModel;
    if (members.has(m.name) && raw.targetUtilization === undefined) m.targetUtilization = 0.9;
  });
  const floor = graphFloor(services, entry.name);
  const slo = entry.endToEndSlo;
  if (floor.floorMs >= slo.latencyMs) {
    problems.push({
      code: 'HR_GRAPH_SLO_FLOOR',
      file,
      path: `services[${services.indexOf(entry)}].slo.latencyMs`,
      value: slo.latencyMs,
      message: `the call graph takes ${round(floor.floorMs)} ms at p${slo.percentile} with no queueing anywhere (slowest path ${floor.path.join(' → ')}): no instance count meets ${slo.latencyMs} ms`,
      allowed: `> ${round(floor.floorMs)} ms (or faster services / fewer calls on that path)`,
    });
  }
}

/**
 * Validates ONE service object (already parsed: e.g. a HeadroomPolicy's `spec.service`) and returns
 * its ServiceModel, with the same checks and messages as a spec file.
 */
export function serviceModelFromSpec(obj: unknown, where: Where = {}): ServiceModel {
  const parsed = serviceSpecSchema.safeParse(obj);
  if (!parsed.success) throw new HeadroomError(zodProblems(parsed.error, obj, where));
  const r = normalizeService(parsed.data, where);
  if (r.problems.length > 0 || !r.model) throw new HeadroomError(r.problems);
  return deepFreeze(r.model);
}

// YAML aliases are expanded by toJS: 9 levels of 10 aliases each (a "billion laughs") would build
// 10^9 nodes. yaml counts the expansions and stops at maxAliasCount; a real spec uses a few.
const MAX_ALIAS_COUNT = 100;
/**
 * YAML with more tokens than this is refused before its document is built (JSON is not): the tree
 * takes ~350 bytes a token (6 MB of usage samples: 2.1 M tokens, 860 MB). Counting is a streaming
 * lex (~0.1 µs a byte), done above 1 MiB only.
 */
const YAML_MAX_TOKENS = 1_000_000;

function yamlTokens(text: string): number {
  let n = 0;
  for (const tok of new Lexer().lex(text)) {
    if (tok.length > 0 && tok !== '\n' && tok[0] !== ' ' && ++n > YAML_MAX_TOKENS) break;
  }
  return n;
}

/**
 * YAML or JSON text → plain data, for every input file (spec, alert config): parse errors with line
 * and column, strict JSON for .json, duplicate keys rejected, alias bombs stopped. No shape checks.
 */
export function parseInputText(text: string, file: string): unknown {
  // A file named .json is strict JSON: a trailing comma or a comment is a typo that YAML (a JSON
  // superset with flow collections) would accept silently. It is read by JSON.parse alone: the YAML
  // document tree costs ~60× the text (a 13-MB JSON spec of 250,000 usage samples took > 768 MB of
  // heap through it, ~150 MB without). JSON has no aliases; a repeated key keeps the last value.
  if (/\.json$/i.test(file)) return strictJson(text, file);
  if (text.length > 2 ** 20 && yamlTokens(text) > YAML_MAX_TOKENS) {
    throw new HeadroomError({
      code: 'HR_INPUT_TOO_LARGE',
      file,
      message: `a YAML file of more than ${YAML_MAX_TOKENS.toLocaleString('en')} tokens (its parse tree takes ~350 bytes a token)`,
      allowed: `YAML up to ${YAML_MAX_TOKENS.toLocaleString('en')} tokens (~50,000 usage samples in flow style); larger inputs as .json (the same keys), up to 16 MiB`,
    });
  }
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    // e.g. RangeError from nesting thousands of levels deep: input, not a bug.
    throw new HeadroomError({ code: 'HR_SPEC_PARSE', file, message: `cannot parse: ${errorName(err)}` });
  }
  if (doc.errors.length > 0) throw yamlErrors(doc.errors, file);
  return toData(doc, file);
}

/** YAML syntax errors as HR_SPEC_PARSE problems, each with its line and column. */
function yamlErrors(
  errors: ReadonlyArray<{ message: string; linePos?: [{ line: number; col: number }, ...unknown[]] | undefined }>,
  file: string | undefined,
): HeadroomError {
  return new HeadroomError(
    errors.map((e) => {
      const pos = e.linePos?.[0];
      return {
        code: 'HR_SPEC_PARSE' as const,
        ...(file !== undefined ? { file } : {}),
        ...(pos ? { path: `line ${pos.line}, column ${pos.col}` } : {}),
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      };
    }),
  );
}

/** A parsed document as plain data, with the alias-expansion bound (HR_INPUT_TOO_LARGE). */
function toData(doc: { toJS(o: { maxAliasCount: number }): unknown }, file: string | undefined): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new HeadroomError({
        code: 'HR_INPUT_TOO_LARGE',
        ...(file !== undefined ? { file } : {}),
        message: 'YAML aliases expand to too many nodes (an alias bomb?)',
        allowed: `at most ${MAX_ALIAS_COUNT} alias expansions`,
      });
    }
    throw new HeadroomError({
      code: 'HR_SPEC_PARSE',
      ...(file !== undefined ? { file } : {}),
      message: `cannot parse: ${errorName(err)}`,
    });
  }
}

/** One document of a multi-document input, and the line it starts on (1-based). */
export interface InputDocument {
  data: unknown;
  line: number;
  /** Lines where each item of a top-level `items:` list starts (a `List`), by index. */
  itemLines: number[];
}

/**
 * Like parseInputText, for inputs that may hold several YAML documents (`---`), e.g. Kubernetes
 * manifests: the same strict JSON for .json, duplicate-key and alias-bomb checks, parse errors
 * with line and column. Empty documents (a trailing `---`) are skipped.
 */
export function parseInputDocuments(text: string, file: string): InputDocument[] {
  if (/\.json$/i.test(file)) {
    const data = strictJson(text, file);
    return [{ data, line: 1, itemLines: [] }];
  }
  if (text.length > 2 ** 20 && yamlTokens(text) > YAML_MAX_TOKENS) parseInputText(text, file); // throws the size error
  const lc = new LineCounter();
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lc });
  } catch (err) {
    throw new HeadroomError({ code: 'HR_SPEC_PARSE', file, message: `cannot parse: ${errorName(err)}` });
  }
  const list = Array.isArray(docs) ? docs : [];
  const errors = list.flatMap((d) => d.errors);
  if (errors.length > 0) throw yamlErrors(errors, file);
  const out: InputDocument[] = [];
  for (const doc of list) {
    if (doc.contents === null) continue;
    const data = toData(doc, file);
    const start = doc.contents.range?.[0] ?? 0;
    const items = doc.getIn(['items'], true) as { items?: Array<{ range?: [number, number, number] }> } | undefined;
    const itemLines = Array.isArray(items?.items)
      ? items.items.map((it) => (it.range ? lc.linePos(it.range[0]).line : lc.linePos(start).line))
      : [];
    out.push({ data, line: lc.linePos(start).line, itemLines });
  }
  return out;
}

function parseYamlOrJson(text: string, file: string): unknown {
  const data = parseInputText(text, file);
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
  return data;
}

function strictJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message may quote the text ("Unexpected token 'h', "hunter2"... is not valid JSON"):
    // keep only the part before the quote, and the position as line and column.
    const msg = err instanceof Error ? err.message : '';
    const what =
      /^[^",]*/
        .exec(msg)?.[0]
        ?.replace(/ in JSON at position.*$/, '')
        .trim() || 'invalid';
    const at = /position (\d+)/.exec(msg);
    let path: string | undefined;
    if (at) {
      const before = text.slice(0, Number(at[1]));
      const line = before.split('\n').length;
      path = `line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
    }
    throw new HeadroomError({
      code: 'HR_SPEC_PARSE',
      file,
      ...(path ? { path } : {}),
      message: `not valid JSON: ${what}`,
      allowed: 'strict JSON (no trailing commas or comments) in a .json file; YAML in .yaml',
    });
  }
}

function errorName(err: unknown): string {
  if (err instanceof RangeError) return 'nested too deeply';
  return err instanceof Error ? err.name : 'unknown error';
}

/** zod issues → problems with key path, the value as written and the allowed range. */
export function zodProblems(error: z.ZodError, input: unknown, where: Where): ProblemDetail[] {
  return error.issues.map((issue) => {
    const path = joinPath(where.path, keyPath(issue.path as Array<string | number>));
    const value = valueAt(input, issue.path as Array<string | number>);
    const p: ProblemDetail = { code: 'HR_SPEC_INVALID', message: issue.message, path };
    if (where.file !== undefined) p.file = where.file;
    if (value !== undefined && issue.code !== 'unrecognized_keys') p.value = value;
    switch (issue.code) {
      case 'too_small':
      case 'too_big': {
        const i = issue as unknown as {
          minimum?: number | bigint;
          maximum?: number | bigint;
          inclusive?: boolean;
          origin?: string;
        };
        const bound = issue.code === 'too_small' ? i.minimum : i.maximum;
        if (i.origin === 'array' || i.origin === 'string') {
          p.allowed = `${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} ${i.origin === 'array' ? 'items' : 'characters'}`;
        } else {
          p.allowed = `${issue.code === 'too_small' ? (i.inclusive ? '>=' : '>') : i.inclusive ? '<=' : '<'} ${bound}`;
        }
        p.message = issue.code === 'too_small' ? 'too small' : 'too large';
        break;
      }
      case 'invalid_type':
        if (value === undefined) {
          p.message = 'required';
          p.allowed = `a ${(issue as unknown as { expected: string }).expected}`;
        } else {
          p.message = `must be a ${(issue as unknown as { expected: string }).expected}`;
        }
        if ((issue as unknown as { expected: string }).expected === 'int') p.message = 'must be a whole number';
        break;
      case 'invalid_value':
        p.message = 'not an allowed value';
        p.allowed = `one of ${(issue as unknown as { values: unknown[] }).values.map((v) => String(v)).join(', ')}`;
        break;
      case 'unrecognized_keys':
        if (issue.keys.length === 1) p.path = joinPath(path, String(issue.keys[0]));
        p.message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} (a typo?)`;
        break;
      case 'invalid_union':
        p.message = 'wrong type';
        p.allowed = 'a string such as 500m / 256Mi, or a number';
        break;
      default:
        break;
    }
    return p;
  });
}

function joinPath(prefix: string | undefined, rest: string): string {
  if (!prefix) return rest;
  if (!rest) return prefix;
  return rest.startsWith('[') ? `${prefix}${rest}` : `${prefix}.${rest}`;
}

/** The value at a zod issue path in the raw input, or undefined. */
export function valueAt(input: unknown, path: Array<string | number>): unknown {
  let cur: unknown = input;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

interface Normalized {
  model?: ServiceModel;
  problems: ProblemDetail[];
}

function normalizeService(svc: ServiceSpec, where: Where): Normalized {
  const problems: ProblemDetail[] = [];
  const at = (key: string): string => joinPath(where.path, key);
  const problem = (p: Omit<ProblemDetail, 'file'>): void => {
    problems.push(where.file !== undefined ? { ...p, file: where.file } : p);
  };

  let profile: CapacityProfile | undefined = where.profile;
  if (svc.instance.profile !== undefined) {
    profile = readProfile(svc.instance.profile, where, problem);
  }
  const serviceTimeMs = svc.instance.serviceTimeMs ?? profile?.serviceTimeMs;
  const concurrency = svc.instance.concurrency ?? profile?.concurrency;
  if (serviceTimeMs === undefined) {
    problem({
      code: 'HR_SPEC_INVALID',
      path: at('instance.serviceTimeMs'),
      message: 'required (or give instance.profile from `headroom loadtest`)',
      allowed: 'a number of ms > 0',
    });
  }

  const cpu = quantityField(svc.instance.cpu, 'cpu', at('instance.cpu'), problem);
  const memory = quantityField(svc.instance.memory, 'memory', at('instance.memory'), problem);
  const cpuLimit = quantityField(svc.instance.cpuLimit, 'cpu', at('instance.cpuLimit'), problem);
  const memoryLimit = quantityField(svc.instance.memoryLimit, 'memory', at('instance.memoryLimit'), problem);

  const min = svc.replicas?.min ?? 1;
  const max = svc.replicas?.max ?? 100;
  if (min > max) {
    problem({
      code: 'HR_SPEC_INVALID',
      path: at('replicas.min'),
      value: min,
      message: 'above replicas.max',
      allowed: `<= replicas.max (${max})`,
    });
  }
  const zones = svc.availability?.zones ?? 1;
  const zoneFailures = svc.availability?.zoneFailures ?? 0;
  if (zoneFailures >= zones && zoneFailures > 0) {
    problem({
      code: 'HR_AVAILABILITY_IMPOSSIBLE',
      path: at('availability.zoneFailures'),
      value: zoneFailures,
      message: `cannot survive losing ${zoneFailures} of ${zones} zone${zones > 1 ? 's' : ''}`,
      allowed: `0..${zones - 1} (below availability.zones)`,
    });
  }
  // An SLO that no count can meet is not a spec error: `plan` reports that service as infeasible
  // with its reason and plans the others (as it does when the cluster is too small).
  const serviceTime =
    serviceTimeMs !== undefined ? normalizeServiceTime(svc.instance, profile, serviceTimeMs, at, problem) : undefined;

  const behavior = normalizeBehavior(svc.behavior);
  const pricing = normalizePricing(svc, where, at, problem);
  if (problems.length > 0 || serviceTimeMs === undefined) return { problems };
  const model: ServiceModel = {
    name: svc.name,
    demandRps: svc.demand?.rps ?? 0,
    instance: {
      serviceTimeMs,
      concurrency: concurrency ?? 1,
      // Capacity from a loadtest profile: plan then warns from what it measured (its knee, its SLO).
      ...(profile && (svc.instance.serviceTimeMs === undefined || svc.instance.concurrency === undefined)
        ? {
            capacitySource: 'profile' as const,
            profile: {
              kneeRps: profile.kneeRps,
              // Profiles written before the field: no step broke the SLO.
              kneeIsLowerBound:
                profile.kneeIsLowerBound ??
                (profile.kneeRps > 0 && profile.steps.length > 0 && profile.steps.every((st) => st.sloMet)),
              partial: profile.partial ?? false,
              slo: { latencyMs: profile.slo.latencyMs, percentile: profile.slo.percentile },
            },
          }
        : {}),
      ...(serviceTime ? { serviceTime } : {}),
      ...(cpu !== undefined ? { cpuMillis: cpu } : {}),
      ...(memory !== undefined ? { memoryBytes: memory } : {}),
      ...(cpuLimit !== undefined ? { cpuLimitMillis: cpuLimit } : {}),
      ...(memoryLimit !== undefined ? { memoryLimitBytes: memoryLimit } : {}),
    },
    loadBalancing: svc.loadBalancing ?? 'leastRequests',
    ...(svc.slo && svc.slo.scope !== 'endToEnd'
      ? { slo: { latencyMs: svc.slo.latencyMs, percentile: svc.slo.percentile } }
      : {}),
    ...(svc.slo?.scope === 'endToEnd'
      ? { endToEndSlo: { latencyMs: svc.slo.latencyMs, percentile: svc.slo.percentile } }
      : {}),
    ...(svc.calls
      ? {
          calls: svc.calls.map((c) => ({ service: c.service, perRequest: c.perRequest, mode: c.mode ?? 'sequential' })),
        }
      : {}),
    targetUtilization: svc.targetUtilization ?? (svc.slo ? 0.9 : 0.7),
    replicas: { min, max },
    availability: { zones, zoneFailures, instanceFailures: svc.availability?.instanceFailures ?? 0 },
    startupSeconds: svc.startupSeconds ?? 60,
    behavior,
    ...(pricing ? { pricing } : {}),
  };
  return { model, problems };
}

/**
 * The checks one pricing block needs on its own: one style (per resource or per instance), at
 * least one price, and a currency where nothing else gives one. True when it passed.
 */
function pricingBlockProblems(
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
function normalizePricing(
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

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * The service-time distribution: the spec's serviceTimeCv / serviceTimeQuantilesMs win over the
 * profile's probe. The probe's quantiles keep their shape and are scaled to the mean in use (the
 * profile's fitted serviceTimeMs, or the spec's), so capacity and latency describe one service.
 */
function normalizeServiceTime(
  instance: ServiceSpec['instance'],
  profile: CapacityProfile | undefined,
  meanMs: number,
  at: (key: string) => string,
  problem: (p: Omit<ProblemDetail, 'file'>) => void,
): ServiceTimeModel | undefined {
  const probe = profile?.serviceTime;
  let quantiles = instance.serviceTimeQuantilesMs;
  let source: ServiceTimeModel['source'] = 'spec';
  let cv = instance.serviceTimeCv;
  if (quantiles === undefined && cv === undefined && probe) {
    const k = meanMs / probe.meanMs;
    quantiles = {
      p50: probe.quantilesMs.p50 * k,
      p90: probe.quantilesMs.p90 * k,
      p99: probe.quantilesMs.p99 * k,
      p999: probe.quantilesMs.p999 * k,
    };
    cv = probe.cv;
    source = 'profile';
  }
  if (quantiles === undefined) return cv === undefined ? undefined : { cv, source };
  const key = source === 'profile' ? 'instance.profile' : 'instance.serviceTimeQuantilesMs';
  const order = ['p50', 'p90', 'p99', 'p999'] as const;
  let ok = true;
  for (let i = 1; i < order.length; i++) {
    const name = order[i] as (typeof order)[number];
    const prev = order[i - 1] as (typeof order)[number];
    if (!(quantiles[name] > quantiles[prev])) {
      ok = false;
      problem({
        code: 'HR_SERVICE_TIME',
        path: at(source === 'profile' ? key : `${key}.${name}`),
        value: quantiles[name],
        message: `the quantiles do not increase: ${name} is not above ${prev} (${quantiles[prev]} ms)`,
        allowed: `> ${quantiles[prev]} ms (p50 < p90 < p99 < p999)`,
      });
    }
  }
  if (!ok) return undefined;
  const least = minimumMeanMs(quantiles);
  if (least > meanMs * (1 + 1e-9)) {
    problem({
      code: 'HR_SERVICE_TIME',
      path: at(key),
      value: quantiles,
      message: `these quantiles need a mean service time of at least ${round(least)} ms, above serviceTimeMs ${meanMs} ms`,
      allowed: `quantiles whose 0.5·p50 + 0.1·(p90 − p50) + 0.01·(p99 − p90) + 0.001·(p999 − p99) ≤ ${meanMs} ms`,
    });
    return undefined;
  }
  if (quantiles.p999 < meanMs) {
    problem({
      code: 'HR_SERVICE_TIME',
      path: at(source === 'profile' ? key : `${key}.p999`),
      value: quantiles.p999,
      message: `p999 is below the mean service time (${meanMs} ms): the slowest 0.1 % would have to carry the rest of the mean`,
      allowed: `>= ${meanMs} ms`,
    });
    return undefined;
  }
  return { cv: cv ?? impliedCv(meanMs, quantiles), quantilesMs: { ...quantiles }, source };
}

function readProfile(
  ref: string,
  where: Where,
  problem: (p: Omit<ProblemDetail, 'file'>) => void,
): CapacityProfile | undefined {
  const path = joinPath(where.path, 'instance.profile');
  const file = resolve(where.baseDir ?? '.', ref);
  let text: string;
  try {
    text = readInputFile(file, { what: 'the capacity profile', maxBytes: SPEC_MAX_BYTES, path, shown: ref });
  } catch (err) {
    if (!(err instanceof HeadroomError)) throw err;
    for (const p of err.problems) problem(p);
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file (a profile: pointing at a secret would print it).
    problem({ code: 'HR_PROFILE_INVALID', path, value: ref, message: 'not JSON' });
    return undefined;
  }
  const parsed = capacityProfileSchema.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    if (first && first.path.join('.') === 'serviceTime.samples') {
      problem({
        code: 'HR_SERVICE_TIME',
        path,
        value: ref,
        message: `the profile's probe measured ${String(valueAt(data, ['serviceTime', 'samples']))} requests, too few for a stable p99`,
        allowed: `at least ${MIN_PROBE_SAMPLES} (rerun \`headroom loadtest\` with a larger --probe-requests)`,
      });
      return undefined;
    }
    problem({
      code: 'HR_PROFILE_INVALID',
      path,
      value: ref,
      message: `not a capacity profile written by \`headroom loadtest\`: ${first ? `${keyPath(first.path as Array<string | number>)}: ${first.message}` : 'invalid'}`,
    });
    return undefined;
  }
  return parsed.data;
}

function quantityField(
  q: string | number | undefined,
  kind: 'cpu' | 'memory',
  path: string,
  problem: (p: Omit<ProblemDetail, 'file'>) => void,
): number | undefined {
  if (q === undefined) return undefined;
  const v = kind === 'cpu' ? parseCpuMillis(q) : parseMemoryBytes(q);
  if (v === undefined || !Number.isFinite(v)) {
    problem({
      code: 'HR_QUANTITY',
      path,
      value: q,
      message: `not a ${kind} quantity`,
      allowed:
        kind === 'cpu' ? 'cores (2, 0.5) or millicores (500m)' : 'bytes with an optional suffix (256Mi, 1Gi, 512M)',
    });
    return undefined;
  }
  if (v <= 0) {
    problem({ code: 'HR_QUANTITY', path, value: q, message: 'must be above zero', allowed: '> 0' });
    return undefined;
  }
  return v;
}

type DirectionSpec = NonNullable<NonNullable<ServiceSpec['behavior']>['scaleUp']>;

function normalizeBehavior(b: ServiceSpec['behavior']): BehaviorModel {
  const d = defaultBehavior();
  if (!b) return d;
  const direction = (spec: DirectionSpec | undefined, base: DirectionBehavior): DirectionBehavior => ({
    stabilizationSeconds: spec?.stabilizationWindowSeconds ?? base.stabilizationSeconds,
    select: spec?.selectPolicy ? (spec.selectPolicy.toLowerCase() as DirectionBehavior['select']) : base.select,
    policies: spec?.policies
      ? spec.policies.map((p): RatePolicy => ({
          type: p.type === 'Pods' ? 'pods' : 'percent',
          value: p.value,
          periodSeconds: p.periodSeconds,
        }))
      : base.policies,
  });
  return {
    tolerance: b.tolerance ?? d.tolerance,
    scaleUp: direction(b.scaleUp, d.scaleUp),
    scaleDown: direction(b.scaleDown, d.scaleDown),
    burst: {
      enabled: b.burst?.enabled ?? d.burst.enabled,
      windowSeconds: b.burst?.windowSeconds ?? d.burst.windowSeconds,
      threshold: b.burst?.threshold ?? d.burst.threshold,
    },
    forecast: { enabled: b.forecast?.enabled ?? d.forecast.enabled },
    ...(b.fallback ? { fallback: { afterFailures: b.fallback.afterFailures, replicas: b.fallback.replicas } } : {}),
  };
}

/** Nodes after `count` expansion: the schema's limit on entries, so a count cannot multiply it. */
export const MAX_CLUSTER_NODES = 100_000;

function normalizeCluster(
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

function normalizeUsage(
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

/** Freeze a loaded config all the way down (Maps are left alone), so no caller can change it. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o) && !(o instanceof Map)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/**
 * A service that is part of a call graph (`calls`, or an SLO with `scope: endToEnd`) in a mode that
 * sizes one service on its own (`run`, the controller): refused, not sized without its SLO.
 * `headroom plan` plans graphs (docs/graph.md); the live modes do not yet (issue 16, items 3–4).
 */
export function graphUnsupported(model: ServiceModel, where: Where, mode: string): ProblemDetail | undefined {
  const field = model.endToEndSlo ? 'slo.scope' : model.calls?.length ? 'calls' : undefined;
  if (!field) return undefined;
  const base = where.path ? `${where.path}.` : '';
  return {
    code: 'HR_SPEC_INVALID',
    ...(where.file ? { file: where.file } : {}),
    path: `${base}${field}`,
    message: `${mode} sizes one service on its own SLO; call graphs (calls, scope: endToEnd) are planned by \`headroom plan\` (docs/graph.md), not yet by ${mode}`,
    allowed: 'a service without calls and with a service-scope slo',
  };
}
