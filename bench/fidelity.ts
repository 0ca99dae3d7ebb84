// Simulator fidelity (issue 7): `headroom simulate` against the real local cluster on a short trace.
// The harness is test/e2e/support/fidelity.ts (the e2e test runs a short version of it).
//   node scripts/bootstrap.mjs bench/fidelity.ts [--peak 700] [--rows 60] [--row-seconds 4] [--window 30]
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, jsonLine, markdown, runFidelity, type FidelityConfig } from '../test/e2e/support/fidelity.ts';

const { values } = parseArgs({
  options: {
    peak: { type: 'string' },
    rows: { type: 'string' },
    'row-seconds': { type: 'string' },
    window: { type: 'string' },
    'from-row': { type: 'string' },
  },
});
const cfg: FidelityConfig = {
  ...DEFAULT_CONFIG,
  ...(values.peak !== undefined ? { peak: Number(values.peak) } : {}),
  ...(values.rows !== undefined ? { rows: Number(values.rows) } : {}),
  ...(values['row-seconds'] !== undefined ? { rowSeconds: Number(values['row-seconds']) } : {}),
  ...(values.window !== undefined ? { windowSeconds: Number(values.window) } : {}),
  ...(values['from-row'] !== undefined ? { fromRow: Number(values['from-row']) } : {}),
};
const r = await runFidelity(cfg);
process.stderr.write(`trace and spec kept for \`headroom simulate\` / \`headroom run\`: ${r.csv}, ${r.spec}\n`);
console.log(`## simulate fidelity\n\n${markdown(r)}\n`);
console.log(jsonLine(r));
if (r.measured.exitCode !== 0) {
  process.stderr.write(r.measured.stderr);
  process.exitCode = 1;
}
