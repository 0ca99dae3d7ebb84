import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.ts';

describe('docs/errors.md catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/^## (HR_[A-Z_]+)\s*$/gm)].map((m) => m[1]);

  it('documents every error code', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(documented, `${code} has no section`).toContain(code);
  });

  it('documents no code that does not exist', () => {
    for (const code of documented) expect(Object.keys(ERROR_CODES)).toContain(code);
  });
});
