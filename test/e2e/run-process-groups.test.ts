// A service that starts background helpers: `sh -c "sleep 301 & exec node service.ts"`. Before
// whole process groups were stopped, only the instance's pid got SIGTERM: `sleep 301` was left
// orphaned, holding the instance's stdout/stderr pipes, and `headroom run` printed "done" and then
// hung. Now every instance's group gets SIGTERM (SIGKILL after the grace) and run exits at once.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_SERVICE } from '../local/helpers.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Live (not zombie) processes whose environment carries the marker, with their argv. */
function marked(marker: string): Array<{ pid: number; argv: string[] }> {
  const out: Array<{ pid: number; argv: string[] }> = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (!readFileSync(`/proc/${p}/environ`, 'utf8').includes(marker)) continue;
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push({ pid: Number(p), argv: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

describe.runIf(process.platform === 'linux')('headroom run: services with background helpers', () => {
  it('stops whole process groups: no `sleep 301` survives and run exits right after "done"', async () => {
    const marker = `HEADROOM_PGRP_TEST=${randomBytes(6).toString('hex')}`;
    const dir = mkdtempSync(join(tmpdir(), 'headroom-pgrp-'));
    const spec = join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      [
        'services:',
        '  - name: web',
        '    instance: { serviceTimeMs: 20, concurrency: 4 }',
        '    replicas: { min: 2, max: 2 }',
        'run:',
        '  command: [sh, -c, "sleep 301 & exec node service.ts"]',
        `  cwd: ${JSON.stringify(dirname(EXAMPLE_SERVICE))}`,
        // `node` in the shell is the Node.js running the test; the marker finds our processes.
        `  env: { PATH: ${JSON.stringify(`${dirname(process.execPath)}:${process.env.PATH ?? ''}`)}, ${marker.split('=')[0]}: ${JSON.stringify(marker.split('=')[1])}, NODE_OPTIONS: --disable-warning=ExperimentalWarning }`,
        '  port: 0',
        '  statusPort: 0',
        '  tickSeconds: 0.5',
        '  killGraceSeconds: 3',
        '',
      ].join('\n'),
    );
    const env = { ...process.env };
    delete env.HEADROOM_TOKEN;
    const child = spawn(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', MAIN, 'run', spec, '--duration', '4', '--no-live'],
      { stdio: ['ignore', 'pipe', 'pipe'], env },
    );
    let out = '';
    let err = '';
    let helpersWhileRunning = 0;
    let doneAt: number | undefined;
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (helpersWhileRunning === 0 && /status API/.test(out)) {
        helpersWhileRunning = marked(marker).filter((p) => p.argv[0] === 'sleep' && p.argv[1] === '301').length;
      }
      if (doneAt === undefined && /^done after/m.test(out)) doneAt = performance.now();
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    // Bounded: a hang fails the test instead of stalling it.
    const kill = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const exitedAt = performance.now();
    clearTimeout(kill);
    const left = marked(marker);
    for (const p of left) process.kill(p.pid, 'SIGKILL');

    expect(err).toBe('');
    expect(code).toBe(0);
    expect(helpersWhileRunning).toBe(2); // one helper per instance, so the test saw what it stops
    expect(doneAt).toBeDefined();
    const afterDone = exitedAt - doneAt!;
    console.log(`run exited ${afterDone.toFixed(0)} ms after "done"`);
    // The group stop happens before "done"; only the process exit remains after it.
    expect(afterDone).toBeLessThan(1500);
    expect(left.map((p) => p.argv.join(' '))).toEqual([]);
  }, 60_000);
});
