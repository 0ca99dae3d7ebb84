import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Every `src/…` and `test/…` path a newcomer is pointed at must exist: renames (src/spec →
// src/input, the Kubernetes client → src/adapters/kubernetes) left stale paths in the docs before.
const root = new URL('../../', import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, root), 'utf8');

/** The `src/…` and `test/…` paths in a text, without trailing punctuation. */
function pathsIn(text: string): string[] {
  const found = [...text.matchAll(/(?<![\w./-])((?:src|test)\/[\w./<>*-]*)/g)].map((m) =>
    m[1]!.replace(/[.,:;]+$/, ''),
  );
  return [...new Set(found)];
}

/** What must exist for a path: itself, or for `src/cli/*.ts` and `src/adapters/notifiers/<name>/`, the folder before the placeholder. */
function mustExist(path: string): string {
  const cut = path.search(/[<*]/);
  return cut < 0 ? path : path.slice(0, path.lastIndexOf('/', cut) + 1);
}

function designSection(readme: string): string {
  const start = readme.indexOf('\n## Design\n');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('paths named in the newcomer docs exist', () => {
  const docs: Array<[string, string]> = [
    ['docs/developing.md', read('docs/developing.md')],
    ["README.md's Design section", designSection(read('README.md'))],
  ];

  it('finds the paths it checks (the extraction works on both texts)', () => {
    expect(pathsIn(docs[0]![1])).toEqual(expect.arrayContaining(['src/core/reasons.ts', 'test/docs/reasons.test.ts']));
    expect(pathsIn(docs[1]![1])).toEqual(expect.arrayContaining(['src/core/', 'src/loadtest/http1-client.ts']));
    expect(pathsIn('see src/spec/load.ts, and test/e2e.')).toEqual(['src/spec/load.ts', 'test/e2e']);
    expect(mustExist('src/adapters/notifiers/<name>/index.ts')).toBe('src/adapters/notifiers/');
    expect(existsSync(new URL('src/spec/load.ts', root))).toBe(false);
  });

  for (const [name, text] of docs) {
    it(`${name}: every src/ and test/ path exists`, () => {
      const missing = pathsIn(text).filter((p) => !existsSync(new URL(mustExist(p), root)));
      expect(missing, `${name} names paths that do not exist`).toEqual([]);
    });
  }
});
