// `headroom schema`: the JSON Schema of the spec file, for editors (yaml-language-server).
import type { Command } from 'commander';
import { specJsonSchema } from '../input/schema.ts';

export function register(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of spec files (also shipped as schema/headroom.schema.json)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(specJsonSchema(), null, 2)}\n`);
    });
}
