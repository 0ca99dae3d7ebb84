// e2e setup: make sure the Debian packages a test needs are installed (idempotent, cached by dpkg).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../scripts/install-debs.sh', import.meta.url));

export function ensureDebs(packages: string[]): void {
  execFileSync('bash', [script, ...packages], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
}
