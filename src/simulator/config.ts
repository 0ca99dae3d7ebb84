// The spec file's optional `simulate:` section (the spec loader leaves it to this command):
//   simulate: { scrapeSeconds: 15, startupSeconds: 60, baselineTarget: 0.7, peakRps: 2000, podBurstIntervalSeconds: 1,
//               reads: answers }
// Command-line flags override it; the service's own `startupSeconds` is the default for startup.
import { z } from 'zod';
import { dirname, resolve } from 'node:path';
import { checkSpec, readSpecSource, type LoadedSpec } from '../input/load.ts';
import { readInputFile, SPEC_MAX_BYTES } from '../input/read.ts';
import { checkSchema, deepFreeze, throwProblems } from '../input/validate.ts';
import { POLICY_NAMES } from './run.ts';

/** Headroom's round interval with the burst from the pods (`--pod-burst`), seconds: whole, 1–60. */
export const POD_BURST_INTERVAL = { min: 1, max: 60 } as const;

export const simulateSectionSchema = z.strictObject({
  /** Prometheus / metrics-server scrape interval the policies see, seconds (default 15). */
  scrapeSeconds: z.number().int().min(1).max(600).optional(),
  /** Decision → ready, seconds; overrides every service's startupSeconds. */
  startupSeconds: z.number().int().min(0).max(3600).optional(),
  /** Target utilization of the HPA, KPA and KEDA baselines when not sweeping (default 0.7). */
  baselineTarget: z.number().gt(0).max(1).optional(),
  /** Rescale the trace so its maximum is this many rps. */
  peakRps: z.number().positive().max(1e9).optional(),
  /** Headroom reads its burst from the pods' counters, deciding every this many seconds (`--pod-burst`). */
  podBurstIntervalSeconds: z.number().int().min(POD_BURST_INTERVAL.min).max(POD_BURST_INTERVAL.max).optional(),
  /** What Headroom's and KEDA's request rates count (`--reads`): arrivals (default) or answers. */
  reads: z.enum(['arrivals', 'answers']).optional(),
  /** Policies to run (default: all). */
  policies: z.array(z.enum(POLICY_NAMES)).min(1).optional(),
});

export type SimulateSection = z.infer<typeof simulateSectionSchema>;

/**
 * A spec file and its `simulate:` section, read once: every problem of both together, each with its
 * file:line:column (as `headroom run` reports its `run:` section with the spec).
 */
export function loadSimulateSpec(file: string): { spec: LoadedSpec; section: SimulateSection } {
  const source = readSpecSource(readInputFile(file, { what: 'the spec', maxBytes: SPEC_MAX_BYTES }), file);
  const { spec, problems } = checkSpec(source, dirname(resolve(file)));
  const raw = (source.data as { simulate?: unknown }).simulate;
  const section =
    raw === undefined || raw === null
      ? {}
      : checkSchema(simulateSectionSchema, raw, { file, path: 'simulate' }, problems);
  throwProblems(problems, source);
  return { spec: deepFreeze(spec as LoadedSpec), section: section ?? {} };
}
