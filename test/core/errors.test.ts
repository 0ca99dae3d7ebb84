// What an error line may echo: escaped, cut, redacted — and one line per key.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cli/loadtest.ts';
import { HeadroomError, formatProblem, mergeProblems, redactUrl, showValue } from '../../src/core/errors.ts';
import { targetError } from '../../src/loadtest/generator.ts';

describe('formatProblem', () => {
  it('escapes control characters in the file name, key path, message and value: no forged lines', () => {
    const line = formatProblem({
      code: 'HR_SPEC_INVALID',
      file: 'x.yaml\nHR_INTERNAL forged\u001b[2J',
      path: 'services[0]\r',
      message: 'bad\u202e',
      value: 'a\u0000b\u2028',
    });
    // eslint-disable-next-line no-control-regex
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
    expect(line).toBe(
      'HR_SPEC_INVALID x.yaml\\u000aHR_INTERNAL forged\\u001b[2J: services[0]\\u000d: bad\\u202e (value: "a\\u0000b\\u2028")',
    );
  });

  it('cuts a long value at 200 characters and says how long it was', () => {
    const line = formatProblem({ code: 'HR_SPEC_INVALID', message: 'm', value: 'n'.repeat(5_000_000) });
    expect(line.length).toBeLessThan(300);
    expect(line).toContain(`${'n'.repeat(199)}… (5000000 characters)`);
    const arr = showValue(new Array(1_000_000).fill({ t: 1 }));
    expect(arr.length).toBeLessThan(230);
    expect(arr).toMatch(/… \(1000000 items\)$/);
  });

  it('shows NaN and Infinity as text (JSON.stringify said null)', () => {
    expect(formatProblem({ code: 'HR_SPEC_INVALID', message: 'm', value: NaN })).toContain('(value: NaN)');
    expect(showValue([Infinity, -Infinity, { a: NaN }])).toBe('[Infinity,-Infinity,{"a":NaN}]');
  });

  it('survives a cyclic value (a YAML alias pointing at its parent)', () => {
    const a: unknown[] = [];
    a.push(a);
    expect(showValue(a)).toContain('…');
  });
});

describe('mergeProblems', () => {
  it('gives one line per key instead of two "allowed" texts', () => {
    const merged = mergeProblems([
      { code: 'HR_SPEC_INVALID', file: 'f', path: 'services[0].name', message: 'too large', allowed: 'at most 63' },
      { code: 'HR_SPEC_INVALID', file: 'f', path: 'services[0].name', message: 'must be a DNS label' },
      { code: 'HR_SPEC_INVALID', file: 'f', path: 'services[1].name', message: 'too large' },
    ]);
    expect(merged).toHaveLength(2);
    expect(merged[0]).toMatchObject({ message: 'too large; must be a DNS label', allowed: 'at most 63' });
  });
});

describe('redactUrl', () => {
  it('drops user:password@ from URLs', () => {
    expect(redactUrl('http://user:pw@host:8080/x?q=1')).toBe('http://***@host:8080/x?q=1');
    expect(redactUrl('http://host/x')).toBe('http://host/x');
    expect(redactUrl('ftp//user:pw@host')).not.toContain('pw');
  });

  it('loadtest never echoes the credentials of its target', () => {
    const bad = (): unknown => {
      try {
        parseConfig('ftp://user:s3cret@host/', {} as Parameters<typeof parseConfig>[1]);
      } catch (err) {
        return err;
      }
    };
    const err = bad() as HeadroomError;
    expect(err.code).toBe('HR_LOADTEST_TARGET');
    expect(err.message).not.toContain('s3cret');
    const url = new URL('http://user:s3cret@127.0.0.1:1/');
    const te = targetError(
      { url, method: 'GET', headers: {}, timeoutMs: 10 },
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    );
    expect(te.message).not.toContain('s3cret');
    expect(te.message).toContain('http://***@127.0.0.1:1/');
  });
});
