// e2e helpers for `headroom loadtest`: start the example service, run the CLI as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const NODE = process.execPath;
const FLAGS = ['--disable-warning=ExperimentalWarning'];

export interface Service {
  url: string;
  port: number;
  child: ChildProcess;
  stdout: () => string;
  stop: () => Promise<number | null>;
}

/** Start examples/service.ts on a free port with the given env; resolves once it logs `listening`. */
export async function startService(env: Record<string, string>): Promise<Service> {
  const child = spawn(NODE, [...FLAGS, 'examples/service.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const listening = new Promise<{ url: string; port: number }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (line.includes('"listening"')) resolve(JSON.parse(line) as { url: string; port: number });
      }
    });
    child.on('exit', (code) => reject(new Error(`service exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`service did not start: ${out} ${err}`)), 15_000).unref();
  });
  const info = await listening;
  return {
    ...info,
    child,
    stdout: () => out,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run `headroom loadtest ...`; `onStderr` sees stderr as it arrives (to send a signal mid-run). */
export function runCli(args: string[], opts: { onStderr?: (all: string, child: ChildProcess) => void } = {}) {
  return runHeadroom(['loadtest', ...args], opts);
}

/** Run any `headroom` command (e.g. `plan` on a spec that uses a written profile). */
export function runHeadroom(args: string[], opts: { onStderr?: (all: string, child: ChildProcess) => void } = {}) {
  const t0 = performance.now();
  const child = spawn(NODE, [...FLAGS, 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr, child);
  });
  return new Promise<CliRun>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}
