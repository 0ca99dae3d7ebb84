// RunLifetime (src/cli/run-stop.ts) in a child process, signalled as a group kill through
// scripts/bootstrap.mjs signals it: the first SIGTERM starts the drain; a second one during the drain
// is ignored (said once) and the run still ends with `done`; a second SIGINT forces, exit 130.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const RUN_STOP = fileURLToPath(new URL('../../src/cli/run-stop.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'headroom-run-stop-'));
const script = join(dir, 'child.ts');
// The drain ("stop") lasts until the test writes a line to stdin: the order is the test's, not a timer's.
writeFileSync(
  script,
  `import { RunLifetime } from ${JSON.stringify(RUN_STOP)};
const say = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\\n');
const life = new RunLifetime();
if (process.env.END_SELF) life.endAfter(0); // as --duration or the traffic's end does
if (process.env.TICKS) setInterval(() => say({ type: 'tick' }), 20); // as --json's tick lines
setInterval(() => undefined, 1000); // what the balancers and servers are in a real run
say({ type: 'started' });
await life.ended;
say({ type: 'stopping' });
await life.finish(
  () =>
    new Promise<void>((res) => {
      say({ type: 'draining' });
      process.stdin.once('data', () => res());
    }),
  5,
);
say({ type: 'done' });
process.exit(0);
`,
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Child {
  proc: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  /** Resolves once stdout (or stderr) has a line containing `text`. */
  line: (text: string, stream?: 'stdout' | 'stderr') => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function child(env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script], {
    stdio: 'pipe',
    env: { ...process.env, ...env },
  });
  const text = { stdout: '', stderr: '' };
  const waits: Array<{ text: string; stream: 'stdout' | 'stderr'; res: () => void }> = [];
  const check = (): void => {
    for (const w of [...waits])
      if (text[w.stream].includes(w.text)) {
        waits.splice(waits.indexOf(w), 1);
        w.res();
      }
  };
  proc.stdout.on('data', (c: Buffer) => ((text.stdout += c.toString()), check()));
  proc.stderr.on('data', (c: Buffer) => ((text.stderr += c.toString()), check()));
  const kill = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.on('exit', (code, signal) => {
      clearTimeout(kill);
      res({ code, signal });
    }),
  );
  return {
    proc,
    out: () => text.stdout,
    err: () => text.stderr,
    // Or the exit, whichever first (the assertions after it then say what was missing).
    line: (t, stream = 'stdout') =>
      Promise.race([
        new Promise<void>((res) => {
          waits.push({ text: t, stream, res });
          check();
        }),
        exit.then(() => undefined),
      ]),
    exit,
  };
}

const types = (out: string): string[] =>
  out
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { type: string }).type);

describe('RunLifetime: a repeated signal during the drain', () => {
  it('a second SIGTERM is ignored (said once on stderr): stopping, done, exit 0', async () => {
    const c = child();
    await c.line('"started"');
    c.proc.kill('SIGTERM');
    await c.line('"draining"');
    c.proc.kill('SIGTERM');
    c.proc.kill('SIGTERM');
    await c.line('already stopping', 'stderr');
    c.proc.stdin.write('go\n');
    const { code, signal } = await c.exit;
    expect(signal).toBe(null);
    expect(code).toBe(0);
    expect(types(c.out())).toEqual(['started', 'stopping', 'draining', 'done']);
    expect(c.err().match(/already stopping/g)).toHaveLength(1);
  });

  it('a run that ended by itself drains on the first Ctrl-C (only a second signal forces)', async () => {
    const c = child({ END_SELF: '1' });
    await c.line('"draining"');
    c.proc.kill('SIGINT');
    c.proc.stdin.write('go\n');
    const { code } = await c.exit;
    expect(code).toBe(0);
    expect(types(c.out())).toEqual(['started', 'stopping', 'draining', 'done']);
    expect(c.err()).not.toMatch(/interrupted again/);
  });

  it('a reader that quits (`--json | head -1`) stops the run as a signal would: drained, exit 0, no stack trace', async () => {
    const c = child({ TICKS: '1' });
    await c.line('"started"');
    c.proc.stdout.destroy(); // the pipe's reader is gone: the next tick line gets EPIPE
    await c.line('stdout closed', 'stderr');
    c.proc.stdin.write('go\n');
    const { code, signal } = await c.exit;
    expect(signal).toBe(null);
    expect(code).toBe(0);
    expect(c.err()).toBe('headroom run: stdout closed (EPIPE); stopping\n');
  });

  it('a second SIGINT (Ctrl-C twice) forces: exit 130 without done', async () => {
    const c = child();
    await c.line('"started"');
    c.proc.kill('SIGINT');
    await c.line('"draining"');
    c.proc.kill('SIGINT');
    const { code } = await c.exit;
    expect(code).toBe(130);
    expect(types(c.out())).toEqual(['started', 'stopping', 'draining']);
    expect(c.err()).toMatch(/interrupted again/);
  });
});
