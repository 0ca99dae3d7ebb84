import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import {
  crossOrigin,
  isLoopbackHost,
  MIN_TOKEN_LENGTH,
  resolveToken,
  tokenMatches,
} from '../../src/server/dashboard/auth.ts';

const TOKEN = 'a'.repeat(MIN_TOKEN_LENGTH);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof HeadroomError ? err.code : 'not a HeadroomError';
  }
  return undefined;
}

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', 'app.localhost', '::ffff:127.0.0.1'])(
    '%s is loopback',
    (h) => expect(isLoopbackHost(h)).toBe(true),
  );
  it.each(['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1', 'localhost.evil.com', '::2'])(
    '%s is not loopback',
    (h) => expect(isLoopbackHost(h)).toBe(false),
  );
});

describe('resolveToken', () => {
  it('loopback without a token is open', () => {
    expect(resolveToken('127.0.0.1', undefined, { env: {} })).toBeUndefined();
    expect(resolveToken('::1', undefined, { env: {} })).toBeUndefined();
  });
  it('non-loopback without a token: HR_TOKEN_REQUIRED naming the flag and the address', () => {
    let err: unknown;
    try {
      resolveToken('0.0.0.0', undefined, { env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeadroomError);
    expect((err as HeadroomError).code).toBe('HR_TOKEN_REQUIRED');
    expect((err as Error).message).toContain('0.0.0.0');
    expect((err as Error).message).toContain('--token');
  });
  it('non-loopback with a token is allowed; the token may come from the environment', () => {
    expect(resolveToken('0.0.0.0', TOKEN, { env: {} })).toBe(TOKEN);
    expect(resolveToken('10.1.2.3', undefined, { env: { HEADROOM_TOKEN: TOKEN } })).toBe(TOKEN);
  });
  it('a short token is refused even on loopback', () => {
    expect(codeOf(() => resolveToken('127.0.0.1', 'short', { env: {} }))).toBe('HR_TOKEN_REQUIRED');
    expect(codeOf(() => resolveToken('0.0.0.0', 'x'.repeat(MIN_TOKEN_LENGTH - 1), { env: {} }))).toBe(
      'HR_TOKEN_REQUIRED',
    );
  });
  it('a blank token (16 spaces) or one with whitespace is refused with HR_TOKEN_REQUIRED', () => {
    for (const t of [' '.repeat(16), '\t'.repeat(20), `${TOKEN} x`, `${TOKEN}\n`]) {
      expect(
        codeOf(() => resolveToken('127.0.0.1', t, { env: {} })),
        JSON.stringify(t),
      ).toBe('HR_TOKEN_REQUIRED');
      expect(codeOf(() => resolveToken('0.0.0.0', undefined, { env: { HEADROOM_TOKEN: t } }))).toBe(
        'HR_TOKEN_REQUIRED',
      );
    }
    let err: unknown;
    try {
      resolveToken('0.0.0.0', ' '.repeat(16), { env: {} });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toContain('blank');
    expect((err as Error).message).not.toContain(' '.repeat(16));
  });
  it('crossOrigin: only state-changing methods with a foreign Origin', () => {
    expect(crossOrigin('POST', 'http://evil.example', '127.0.0.1:9090')).toBe(true);
    expect(crossOrigin('DELETE', 'null', '127.0.0.1:9090')).toBe(true);
    expect(crossOrigin('PUT', 'http://127.0.0.1:9090', '127.0.0.1:9090')).toBe(false);
    expect(crossOrigin('POST', 'http://Example.com', 'example.com:80')).toBe(false);
    expect(crossOrigin('POST', 'https://example.com', 'example.com')).toBe(false);
    expect(crossOrigin('POST', undefined, '127.0.0.1:9090')).toBe(false);
    expect(crossOrigin('GET', 'http://evil.example', '127.0.0.1:9090')).toBe(false);
  });
  it('an empty token counts as none', () => {
    expect(codeOf(() => resolveToken('0.0.0.0', undefined, { env: { HEADROOM_TOKEN: '' } }))).toBe('HR_TOKEN_REQUIRED');
  });
});

describe('tokenMatches', () => {
  it('matches only the exact token', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN + 'b', TOKEN)).toBe(false);
    expect(tokenMatches(TOKEN.slice(1), TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
    expect(tokenMatches(undefined, TOKEN)).toBe(false);
  });
});
