#!/usr/bin/env node
// The `headroom` command line: one file per command, each exporting `register(program)`.
// Errors: a HeadroomError prints its problems (code, file, key, value, allowed) and exits 2.
import { Command, CommanderError } from 'commander';
import { HeadroomError, formatProblem } from '../core/errors.ts';
import { register as registerPlan } from './plan.ts';
import { register as registerSchema } from './schema.ts';
import { register as registerLoadtest } from './loadtest.ts';
import { register as registerRun } from './run.ts';
import { register as registerAlerts } from './alerts.ts';
import { register as registerController } from './controller.ts';
import { register as registerSimulate } from './simulate.ts';

const program = new Command();
program
  .name('headroom')
  .description('Decides how many instances of each microservice to run, and explains why.')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(`HR_USAGE ${s.replace(/^error: /, '')}`) })
  .showHelpAfterError();

registerPlan(program);
registerSchema(program);
registerLoadtest(program);
registerRun(program);
registerAlerts(program);
registerController(program);
registerSimulate(program);

try {
  await program.parseAsync(process.argv);
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
    for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
    return 2;
  }
  process.stderr.write(`HR_INTERNAL ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
