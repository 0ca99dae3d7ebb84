// Golden files: committed outputs a test compares against. The test never writes one by itself: a
// missing golden fails (a golden that writes itself would pass whatever the output), and only
// UPDATE_GOLDEN=1 (re)writes them, to be reviewed before committing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

/** Compares `actual` with the file at `path` (absolute); UPDATE_GOLDEN=1 rewrites it. */
export function expectGolden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(existsSync(path), `${path} is missing: create it with UPDATE_GOLDEN=1 and review it`).toBe(true);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
