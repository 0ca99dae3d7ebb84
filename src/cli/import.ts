// `headroom import hpa`: HorizontalPodAutoscalers (files or the apiserver) → HeadroomPolicies in
// shadow mode, as YAML on stdout or one file per policy in -o DIR. Everything is read and validated
// before anything is written; with -o DIR no file is half-written (temporary files, then renames).
import type { Command } from 'commander';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadroomError, formatProblem, type ProblemDetail } from '../core/errors.ts';
import { expandLists, importHpas, type HpaInput, type ImportedPolicy } from '../import/hpa.ts';
import { fillIn, policiesYaml, policyYaml } from '../import/render.ts';
import { parseInputDocuments } from '../input/yaml.ts';
import { readInputFile, SPEC_MAX_BYTES } from '../input/read.ts';

interface Options {
  filename?: string[];
  namespace?: string;
  allNamespaces?: boolean;
  kubeconfig?: string;
  outputDir?: string;
  force?: boolean;
  strict?: boolean;
}

export function register(program: Command): void {
  const imp = program.command('import').description('write HeadroomPolicies from another autoscaler’s objects');
  imp
    .command('hpa')
    .description(
      'HorizontalPodAutoscalers (autoscaling/v1, v2, v2beta2, v2beta1) → HeadroomPolicies in shadow mode: same target, replicas, behavior and CPU target; says what to fill in',
    )
    .argument('[names...]', 'only these HPAs (default: all in the namespace or files)')
    .option(
      '-f, --filename <file>',
      'read HPAs from a YAML (multi-document, List) or JSON file; `-` = stdin; repeatable (default: the apiserver)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option(
      '-n, --namespace <ns>',
      "namespace to read (default: the context's, else default); with -f: for HPAs without one",
    )
    .option('-A, --all-namespaces', 'read the HPAs of every namespace')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('-o, --output-dir <dir>', 'write one file per policy, <namespace>.<name>.yaml, instead of stdout')
    .option('--force', 'with -o: overwrite existing files')
    .option('--strict', 'fail (HR_HPA_UNMAPPED, exit 2, nothing written) when a metric cannot be mapped')
    .action(async (names: string[], opts: Options) => {
      await runImport(names, opts);
    });
}

async function runImport(names: string[], opts: Options): Promise<void> {
  if (opts.allNamespaces && opts.namespace !== undefined) {
    throw usage('-A', 'give -n NAMESPACE or --all-namespaces, not both');
  }
  if (opts.allNamespaces && names.length > 0) throw usage('-A', 'HPA names need one namespace (-n), not -A');
  if (opts.force && opts.outputDir === undefined) throw usage('--force', 'only with -o DIR');
  if (opts.filename && opts.kubeconfig !== undefined)
    throw usage('--kubeconfig', 'not with -f (files are read, not the apiserver)');

  let inputs: HpaInput[];
  if (opts.filename) {
    inputs = readFiles(opts.filename);
    if (names.length > 0) inputs = pick(inputs, names);
  } else {
    // Loaded here: `-f` (files) never needs the Kubernetes client, whose import is most of the start-up.
    const { readLiveHpas } = await import('../import/kube.ts');
    const live = await readLiveHpas({
      ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.allNamespaces ? { allNamespaces: true } : {}),
      names,
    });
    inputs = live.inputs;
  }
  const policies = importHpas(inputs, opts.namespace !== undefined ? { namespace: opts.namespace } : {});
  const unmapped = policies.flatMap((p) => p.unmapped);
  if (opts.strict && unmapped.length > 0) throw new HeadroomError(unmapped);

  if (opts.outputDir !== undefined) writeAll(opts.outputDir, policies, opts.force ?? false);
  else process.stdout.write(policiesYaml(policies));
  report(policies);
}

function usage(flag: string, message: string): HeadroomError {
  return new HeadroomError({ code: 'HR_USAGE', path: flag, message });
}

function readFiles(files: readonly string[]): HpaInput[] {
  const problems: ProblemDetail[] = [];
  const out: HpaInput[] = [];
  for (const f of files) {
    const shown = f === '-' ? '<stdin>' : f;
    try {
      const text = readInputFile(f === '-' ? 0 : f, { what: 'the HPA file', maxBytes: SPEC_MAX_BYTES });
      const docs = parseInputDocuments(text, shown);
      for (const d of docs) {
        out.push(
          ...expandLists(
            { object: d.data, file: shown, at: `line ${d.line}`, ...(d.position ? { position: d.position } : {}) },
            (i) => `line ${d.itemLines[i] ?? d.line}: items[${i}]`,
          ),
        );
      }
      if (docs.length === 0) {
        problems.push({ code: 'HR_HPA_NOT_FOUND', file: shown, message: 'the file holds no documents' });
      }
    } catch (err) {
      if (!(err instanceof HeadroomError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new HeadroomError(problems);
  return out;
}

/** The inputs named NAME (metadata.name); every name must match one. */
function pick(inputs: HpaInput[], names: readonly string[]): HpaInput[] {
  const nameOf = (i: HpaInput): unknown =>
    (i.object as { metadata?: { name?: unknown } } | null | undefined)?.metadata?.name;
  const missing = names.filter((n) => !inputs.some((i) => nameOf(i) === n));
  if (missing.length > 0) {
    throw new HeadroomError(
      missing.map((n) => ({
        code: 'HR_HPA_NOT_FOUND' as const,
        path: n,
        message: `no HorizontalPodAutoscaler ${n} in the files`,
      })),
    );
  }
  return inputs.filter((i) => names.includes(String(nameOf(i))));
}

/** <namespace>.<name>.yaml (a namespace has no dots), or <name>.yaml without one. */
export function fileNameOf(p: ImportedPolicy): string {
  const m = p.policy.metadata;
  return `${m.namespace !== undefined ? `${m.namespace}.` : ''}${m.name}.yaml`;
}

/** All files or none: existing files are refused first, then temporary files renamed into place. */
function writeAll(dir: string, policies: readonly ImportedPolicy[], force: boolean): void {
  const targets = policies.map((p) => ({ path: join(dir, fileNameOf(p)), text: policyYaml(p) }));
  if (!force) {
    const exist = targets.filter((t) => existsSync(t.path));
    if (exist.length > 0) {
      throw new HeadroomError(
        exist.map((t) => ({
          code: 'HR_FILE_WRITE' as const,
          file: t.path,
          message: 'exists already: nothing was written',
          allowed: 'a new file, or --force to overwrite',
        })),
      );
    }
  }
  const temps: string[] = [];
  try {
    mkdirSync(dir, { recursive: true });
    for (const t of targets) {
      const tmp = `${t.path}.tmp-${process.pid}`;
      writeFileSync(tmp, t.text, { flag: 'wx' });
      temps.push(tmp);
    }
  } catch (err) {
    for (const tmp of temps) rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new HeadroomError({
      code: 'HR_FILE_WRITE',
      file: dir,
      message: `cannot write the policies (${code ?? (err instanceof Error ? err.message : String(err))}): nothing was written`,
      allowed: 'a writable directory',
    });
  }
  targets.forEach((t, i) => renameSync(temps[i] as string, t.path));
  for (const t of targets) process.stderr.write(`wrote ${t.path}\n`);
}

/** stderr: one line per policy, every unmapped metric, and what to fill in. */
function report(policies: readonly ImportedPolicy[]): void {
  const lines: string[] = [];
  for (const p of policies) {
    const m = p.policy.metadata;
    lines.push(
      `${p.from.apiVersion} HorizontalPodAutoscaler ${p.from.id} → HeadroomPolicy ${m.namespace ? `${m.namespace}/` : ''}${m.name} (mode: shadow)`,
    );
    for (const u of p.unmapped) lines.push(`  ${formatProblem(u)}`);
  }
  const first = policies[0];
  if (first) {
    lines.push(
      `Fill in before mode: active (marked FILL IN in ${policies.length === 1 ? 'the policy' : 'each policy'}):`,
    );
    lines.push(...fillIn(policies.length === 1 ? first : undefined).map((f) => `  - ${f}`));
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}
