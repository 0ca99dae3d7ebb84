// Benchmark: what giving a problem its line and column costs. The YAML tree that positions are
// read from is built only when a problem asks (src/input/yaml.ts), so a valid spec pays nothing
// and a spec with a problem pays one more parse. A spec of N nodes, the last one wrong, is checked
// (parse, schema, the error with its line:column) and its parse and first position timed apart.
// Run: npm run bench -- bench/input-locate.ts [--nodes 20000] [--rounds 5]
import { parseArgs } from 'node:util';
import { parseSpecText } from '../src/input/load.ts';
import { readSource } from '../src/input/yaml.ts';

const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } },
});
const n = Number(values.nodes);
const rounds = Number(values.rounds);
const spec = (bad: boolean): string => {
  const nodes = Array.from({ length: n }, (_, i) => {
    const zone = bad && i === n - 1 ? ', zone: ""' : '';
    return `    - { name: n${i}, cpu: 4, memory: 16Gi${zone} }`;
  });
  return `services:\n  - name: a\n    instance: { serviceTimeMs: 5 }\ncluster:\n  nodes:\n${nodes.join('\n')}\n`;
};
const good = spec(false);
const bad = spec(true);
const ms = (f: () => unknown): number => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
console.log(`${n} nodes, ${(bad.length / 2 ** 20).toFixed(2)} MiB of YAML`);
console.log('round | valid spec, ms | spec with one problem, ms | its parse, ms | its first position, ms');
for (let r = 1; r <= rounds; r++) {
  const valid = ms(() => parseSpecText(good, 'big.yaml'));
  let line = '';
  const invalid = ms(() => {
    try {
      parseSpecText(bad, 'big.yaml');
    } catch (e) {
      line = (e as Error).message.split('\n')[0] ?? '';
    }
  });
  let source: ReturnType<typeof readSource> | undefined;
  const parse = ms(() => (source = readSource(bad, 'big.yaml')));
  const first = ms(() => source?.position(['cluster', 'nodes', n - 1, 'zone']));
  console.log(`${r} | ${valid.toFixed(0)} | ${invalid.toFixed(0)} | ${parse.toFixed(0)} | ${first.toFixed(0)}`);
  if (r === rounds) console.log(line.slice(0, 120));
}
