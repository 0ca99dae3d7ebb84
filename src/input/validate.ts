// The one validation path of every input (spec, `run:`, `alerts:`, `simulate:`, a HeadroomPolicy's
// service): a zod schema's issues become ProblemDetails (file, key path, value, allowed range, HR_
// code) through ONE mapper; problems get the line and column they are written at (src/input/yaml.ts);
// all of them are thrown together in one HeadroomError; what passes is deep-frozen.
//
//   const source = readSource(text, file);                        // yaml.ts: data + positions
//   const problems: ProblemDetail[] = [];
//   const run = checkSchema(runSectionSchema, raw, { file, path: 'run' }, problems);
//   ...more rules, pushing to problems...
//   throwProblems(problems, source);                              // one error, every problem, line:column
//   return deepFreeze(result);
import type { z } from 'zod';
import { HeadroomError, keyPath, type ErrorCode, type ProblemDetail } from '../core/errors.ts';
import type { InputSource } from './yaml.ts';

/** Where an object being checked sits: its file, and its key path in that file (`run`, `services[2]`). */
export interface At {
  file?: string | undefined;
  path?: string | undefined;
}

type Issue = z.core.$ZodIssue;

/** How one kind of input differs from the spec in how its issues read. All optional. */
export interface IssueMapping {
  /** The code of a problem at `path` (inside the object checked). Default HR_SPEC_INVALID. */
  code?: (path: Array<string | number>) => ErrorCode;
  /** Maps one issue itself (e.g. a secret key, whose value must not be echoed); undefined: the usual way. */
  special?: (issue: Issue, path: Array<string | number>) => Omit<ProblemDetail, 'file'> | undefined;
  /** Whether the value written at `path` may be shown in the message. Default: yes. */
  showValue?: (path: Array<string | number>, value: unknown) => boolean;
  /** The allowed form when a value fits no branch of a union, e.g. `a string such as 500m, or a number`. */
  unionAllowed?: string;
}

/** zod issues → problems with key path, the value as written and the allowed range. */
export function zodProblems(error: z.ZodError, input: unknown, where: At, how: IssueMapping = {}): ProblemDetail[] {
  return error.issues.map((issue) => issueProblem(issue, input, where, how));
}

/**
 * Checks `data` against `schema`: the parsed value, or undefined with every issue pushed to
 * `problems` as a ProblemDetail.
 */
export function checkSchema<S extends z.ZodType>(
  schema: S,
  data: unknown,
  where: At,
  problems: ProblemDetail[],
  how: IssueMapping = {},
): z.output<S> | undefined {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  problems.push(...zodProblems(parsed.error, data, where, how));
  return undefined;
}

function issueProblem(issue: Issue, input: unknown, where: At, how: IssueMapping): ProblemDetail {
  const segs = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  const withFile = (p: Omit<ProblemDetail, 'file'>): ProblemDetail =>
    where.file !== undefined ? { ...p, file: where.file } : p;
  const special = how.special?.(issue, segs);
  if (special) return withFile({ ...special, path: joinPath(where.path, special.path ?? keyPath(segs)) });
  // A value that fits no branch of a union, but one branch by its type (a string that misses the
  // pattern): that branch's issue says what is wrong.
  if (issue.code === 'invalid_union') {
    const own = issue.errors.find((b) => b.length > 0 && b.every((i) => i.code !== 'invalid_type'))?.[0];
    if (own) return issueProblem({ ...own, path: [...issue.path, ...own.path] } as Issue, input, where, how);
  }
  const path = joinPath(where.path, keyPath(segs));
  const value = valueAt(input, segs);
  const p: ProblemDetail = { code: how.code?.(segs) ?? 'HR_SPEC_INVALID', message: issue.message, path };
  if (where.file !== undefined) p.file = where.file;
  if (value !== undefined && issue.code !== 'unrecognized_keys' && (how.showValue?.(segs, value) ?? true)) {
    p.value = value;
  }
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
        p.allowed = `a ${issue.expected}`;
      } else {
        p.message = `must be a ${issue.expected}`;
      }
      if (issue.expected === 'int') p.message = 'must be a whole number';
      break;
    case 'invalid_value':
      p.message = 'not an allowed value';
      p.allowed = `one of ${issue.values.map((v) => String(v)).join(', ')}`;
      break;
    case 'invalid_key': {
      // A record's key (run.env.1BAD): zod says "Invalid key in record"; say what a key must be.
      const inner = (issue as { issues?: Array<{ pattern?: string }> }).issues?.[0];
      p.message = 'not an allowed key';
      p.value = segs[segs.length - 1];
      if (inner?.pattern) p.allowed = `a key matching ${inner.pattern}`;
      break;
    }
    case 'unrecognized_keys':
      if (issue.keys.length === 1) p.path = joinPath(path, String(issue.keys[0]));
      p.message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} (a typo?)`;
      break;
    case 'invalid_union': {
      p.message = 'wrong type';
      const types = [...new Set(issue.errors.flat().flatMap((i) => (i.code === 'invalid_type' ? [i.expected] : [])))];
      p.allowed = how.unionAllowed ?? (types.length ? `a ${types.join(' or a ')}` : undefined);
      if (p.allowed === undefined) delete p.allowed;
      break;
    }
    default:
      break;
  }
  return p;
}

/** `services[2]` + `instance.cpu` → `services[2].instance.cpu`. */
export function joinPath(prefix: string | undefined, rest: string): string {
  if (!prefix) return rest;
  if (!rest) return prefix;
  return rest.startsWith('[') ? `${prefix}${rest}` : `${prefix}.${rest}`;
}

/** 'spec.services[2].alerts' → ['spec', 'services', 2, 'alerts']. */
export function pathSegments(p: string | ReadonlyArray<string | number>): Array<string | number> {
  if (typeof p !== 'string') return [...p];
  const out: Array<string | number> = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? ''));
  return out;
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

/**
 * The problems with the line and column each is written at in `source` (problems of that file with
 * a key path; a parse error has its line and column already).
 */
export function located(problems: readonly ProblemDetail[], source: InputSource | undefined): ProblemDetail[] {
  const out = problems.map((p) => {
    if (!source || p.file !== source.file || p.path === undefined || p.line !== undefined) return p;
    const at = source.position(pathSegments(p.path));
    return at ? { ...p, line: at.line, column: at.column } : p;
  });
  // In the order they are written, as a compiler lists them (checks run section by section, not
  // top to bottom); stable, so problems at one place keep their order and unplaced ones come last.
  const place = (p: ProblemDetail): number =>
    p.line === undefined ? Number.MAX_SAFE_INTEGER : p.line * 1e6 + (p.column ?? 0);
  // Files in the order they first appear (the spec, then a profile it names), each file's by place.
  const fileOrder = new Map<string | undefined, number>();
  for (const p of out) if (!fileOrder.has(p.file)) fileOrder.set(p.file, fileOrder.size);
  return out.sort(
    (a, b) => (fileOrder.get(a.file) as number) - (fileOrder.get(b.file) as number) || place(a) - place(b),
  );
}

/** Throws one HeadroomError with every problem, each with its line and column in `source`. */
export function throwProblems(problems: readonly ProblemDetail[], source?: InputSource): void {
  if (problems.length > 0) throw new HeadroomError(located(problems, source));
}

/** Freeze a loaded config all the way down (Maps are left alone), so no caller can change it. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o) && !(o instanceof Map)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
