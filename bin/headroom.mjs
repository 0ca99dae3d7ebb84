#!/usr/bin/env node
// `headroom ...` from anywhere: hands over to the bootstrap, which runs the CLI on Node 24.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const r = spawnSync(
  process.execPath,
  [join(root, 'scripts', 'bootstrap.mjs'), join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
if (r.signal) process.kill(process.pid, r.signal);
process.exit(r.status ?? 1);
