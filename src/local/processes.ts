// The operating-system side of running instances, apart from their lifecycle (supervisor.ts): a free
// port, where a command is found, the parent-death wrapper, process-group signals and the HTTP
// readiness probe.
import { accessSync, constants, statSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** A TCP port free on `host` right now (the OS picks it; the instance binds it a moment later). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Where `command` would be found: a path (relative to cwd) or a name on PATH; undefined if nowhere. */
export function resolveCommand(command: string, cwd: string, path = process.env.PATH ?? ''): string | undefined {
  const executable = (p: string): boolean => {
    try {
      if (!statSync(p).isFile()) return false;
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (command.includes('/')) {
    const p = isAbsolute(command) ? command : resolve(cwd, command);
    return executable(p) ? p : undefined;
  }
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, command);
    if (executable(p)) return p;
  }
  return undefined;
}

/**
 * Linux: util-linux `setpriv --pdeathsig SIGTERM` sets PR_SET_PDEATHSIG and execs the command (same
 * pid), so the kernel sends an instance SIGTERM when Headroom dies — even by SIGKILL, which Headroom
 * cannot catch to drain them. Instances run in their own process group (for Ctrl-C), so without it
 * they would outlive a killed Headroom. Elsewhere, or without setpriv, the command runs as is.
 */
export const PDEATHSIG_WRAPPER: readonly string[] = ((): string[] => {
  const setpriv = process.platform === 'linux' ? resolveCommand('setpriv', '/', '/usr/bin:/bin') : undefined;
  return setpriv ? [setpriv, '--pdeathsig', 'SIGTERM', '--'] : [];
})();

/**
 * Send `signal` to the process group led by `pid` (0 = only check that a member still exists).
 * False when there is no such group (all exited) or it may not be signalled.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function probe(host: string, port: number, path: string, timeoutMs: number): Promise<string | null> {
  // Resolves null when healthy (2xx), else a short reason.
  return new Promise((res) => {
    const req = request({ host, port, path, method: 'GET', agent: false, timeout: timeoutMs }, (r) => {
      r.resume();
      const code = r.statusCode ?? 0;
      res(code >= 200 && code < 300 ? null : `GET ${path} answered ${code}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => res(`GET ${path}: ${e.code ?? e.message}`));
    req.end();
  });
}
