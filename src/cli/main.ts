#!/usr/bin/env node
// The `headroom` command line: one file per command, each exporting `register(program)`.
// Errors: a HeadroomError prints its problems (code, file, key, value, allowed) and exits 2.
import { Command, CommanderError } from 'commander';
import { HeadroomError, escapeText, formatProblem, mergeProblems } from '../core/errors.ts';

watchParent();

const program = new Command();
program
  .name('headroom')
  .description('Decides how many instances of each microservice to run, and explains why.')
  .version('0.1.0')
  .option('--debug', 'on an internal error, print the stack trace')
  .exitOverride()
  .configureOutput({ outputError: usageLine('headroom') });

// --debug anywhere on the line (commander would reject it after a subcommand's own options).
const debug = process.argv.includes('--debug') || process.env.HEADROOM_DEBUG === '1';
const argv = process.argv.filter((a, i) => i < 2 || a !== '--debug');

// Only the invoked command's module is loaded: `headroom plan` then skips the Kubernetes client
// (its import alone is ≈ 1.5 s of a 2-core machine's CPU; `plan` needs ≈ 0.5 s in all). No command,
// `help` or an unknown name loads them all, in this order, for the help listing and suggestions.
const commands: Record<string, () => Promise<{ register(program: Command): void }>> = {
  plan: () => import('./plan.ts'),
  schema: () => import('./schema.ts'),
  loadtest: () => import('./loadtest.ts'),
  run: () => import('./run.ts'),
  alerts: () => import('./alerts.ts'),
  controller: () => import('./controller.ts'),
  simulate: () => import('./simulate.ts'),
  backtest: () => import('./backtest.ts'),
  import: () => import('./import.ts'),
};
const invoked = argv.slice(2).find((a) => !a.startsWith('-'));
const wanted = invoked !== undefined && Object.hasOwn(commands, invoked) ? [invoked] : Object.keys(commands);
for (const m of await Promise.all(wanted.map((name) => commands[name]!()))) m.register(program);
// A usage error is one line and a pointer to the help, not the help itself (12 lines that push the
// error off a CI log's first screen).
for (const cmd of program.commands) {
  cmd.configureOutput({ outputError: usageLine(`headroom ${cmd.name()}`) });
  for (const sub of cmd.commands)
    sub.configureOutput({ outputError: usageLine(`headroom ${cmd.name()} ${sub.name()}`) });
}

function usageLine(command: string): (s: string, write: (s: string) => void) => void {
  return (s, write) => {
    const first = s.replace(/^error: /, '').split('\n')[0] ?? '';
    write(`HR_USAGE ${escapeText(first.trimEnd())} (see \`${command} --help\`)\n`);
  };
}

try {
  await program.parseAsync(argv);
} catch (err) {
  process.exitCode = exitCodeFor(err);
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version are not failures.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
    return 2; // commander already printed `HR_USAGE <message>` and the help
  }
  if (err instanceof HeadroomError) {
    for (const p of mergeProblems(err.problems)) process.stderr.write(`${formatProblem(p)}\n`);
    return 2;
  }
  // One line; the stack trace only with --debug (it names source paths, and is noise to a user).
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  process.stderr.write(
    `${formatProblem({ code: 'HR_INTERNAL', message: `${text} (a bug: please report it; --debug prints the stack)` })}\n`,
  );
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

/**
 * Started by scripts/bootstrap.mjs (npm start, npm run headroom, bin/headroom): when the bootstrap
 * dies, even by SIGKILL, stop as if sent SIGTERM, so `run` stops its instances. setpriv's pdeathsig
 * does this at once on Linux; this poll is the portable fallback (≤ 0.5 s). Only a direct child of
 * that bootstrap watches: the variable is inherited by anything the bootstrap's entry spawns.
 */
function watchParent(): void {
  const want = Number(process.env.HEADROOM_PARENT_PID);
  if (!Number.isInteger(want) || want <= 1 || process.ppid !== want) return;
  const timer = setInterval(() => {
    if (process.ppid === want) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
    // A command without a SIGTERM handler is gone already; one with a handler gets 10 s to clean up.
    setTimeout(() => process.exit(143), 10_000).unref();
  }, 500);
  timer.unref();
}
