// docs/reasons.md documents exactly the decision reason codes (src/core/reasons.ts), and every code
// decide() or the loop emits is in the catalogue (the type says so; this checks the sources too,
// so a code built at run time cannot slip past it).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REASON_CODES } from '../../src/core/reasons.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('docs/reasons.md catalogue', () => {
  const doc = readFileSync(join(ROOT, 'docs/reasons.md'), 'utf8');
  const documented = [...doc.matchAll(/^## ([A-Za-z]+)\s*$/gm)].map((m) => m[1]);
  const codes = Object.keys(REASON_CODES);

  it('documents every reason code, and no code that does not exist', () => {
    for (const code of codes) expect(documented, `${code} has no section`).toContain(code);
    for (const code of documented) expect(codes, `docs/reasons.md has ${code}`).toContain(code);
  });

  it('every reason code written anywhere in src/ is in the catalogue', () => {
    // Every mode (the controller, the simulator's policies, the servers), not only the core: a mode
    // that made up its own code would show users a reason docs/reasons.md does not explain.
    const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(ROOT, 'src', f));
    expect(files.length).toBeGreaterThan(100);
    const used = new Set<string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/code: '([A-Z][a-z][A-Za-z]+)'/g)) used.add(m[1]!);
      // No decision reason built from pieces at run time (grep must find each). The load tester's
      // error codes (HTTP_503) are not decision reasons.
      if (!f.includes('/src/loadtest/')) expect(text, f).not.toMatch(/code: `/);
    }
    expect(used.size).toBeGreaterThan(10);
    for (const code of used) expect(codes, `${code} is used but not in src/core/reasons.ts`).toContain(code);
  });
});
