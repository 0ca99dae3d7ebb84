// The whole test command (`npm test`): format, lint, typecheck, then every test, on Node 24.
// Ends with the plain line `tests: N passed, N failed` so CI can read the count.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.HEADROOM_ROOT ?? process.cwd();
const bin = (pkg: string, rel: string): string => join(root, 'node_modules', pkg, rel);
const unitResults = join(root, '.cache', 'vitest-unit.json');
const e2eResults = join(root, '.cache', 'vitest-e2e.json');
mkdirSync(join(root, '.cache'), { recursive: true });
rmSync(unitResults, { force: true });
rmSync(e2eResults, { force: true });

const steps: Array<[string, string[]]> = [
  ['format (prettier --check)', [bin('prettier', 'bin/prettier.cjs'), '--check', '--log-level=warn', '.']],
  ['lint (eslint)', [bin('eslint', 'bin/eslint.js'), '--max-warnings=0', '.']],
  ['typecheck (tsc)', [bin('typescript', 'bin/tsc'), '-p', 'tsconfig.json']],
  // Unit tests run in parallel; e2e tests (real processes, real servers, timing) one file at a time
  // so they do not measure each other on a 2-core machine.
  ['unit tests (vitest)', vitest('unit', unitResults)],
  ['e2e tests (vitest, one file at a time)', vitest('e2e', e2eResults)],
];

function vitest(project: 'unit' | 'e2e', out: string): string[] {
  return [
    bin('vitest', 'vitest.mjs'),
    'run',
    `--project=${project}`,
    '--passWithNoTests',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
    ...process.argv.slice(2),
  ];
}

// The e2e controller tests start a local control plane (etcd, kube-apiserver, kube-controller-manager:
// ~1.5 GB) when none runs. Stop it at the end if this run started it; one that was already up stays.
const controlPlane = join(root, 'scripts', 'k8s-control-plane.sh');
const controlPlaneUp = (): boolean =>
  /kube-apiserver\s+\d+/.test(spawnSync('bash', [controlPlane, 'status'], { encoding: 'utf8' }).stdout ?? '');
const ownControlPlane = !process.env.HEADROOM_KUBECONFIG && !controlPlaneUp();

let failed = false;
for (const [name, argv] of steps) {
  process.stdout.write(`\n== ${name}\n`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', ...argv], {
    cwd: root,
    stdio: 'inherit',
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(
    `== ${name}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${secs.toFixed(1)} s\n`,
  );
  if (r.status !== 0) failed = true;
}

if (ownControlPlane && controlPlaneUp()) {
  process.stdout.write('\n== stopping the local control plane the e2e tests started\n');
  spawnSync('bash', [controlPlane, 'down'], { cwd: root, stdio: 'inherit' });
}

let passed = 0;
let failedTests = 0;
let skipped = 0;
for (const file of [unitResults, e2eResults]) {
  try {
    const res = JSON.parse(readFileSync(file, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
    };
    passed += res.numPassedTests;
    failedTests += res.numFailedTests;
    skipped += res.numPendingTests + res.numTodoTests;
  } catch {
    failed = true;
  }
}
if (passed === 0) failed = true;
process.stdout.write(`\ntests: ${passed} passed, ${failedTests} failed, ${skipped} skipped\n`);
process.exit(failed ? 1 : 0);
