// The generator's HTTP/1.x response parser: framing (Content-Length, chunked, close-delimited, no
// body), keep-alive, bad bytes, and input split at every byte boundary.
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/loadtest/generator.ts';
import { HttpParseError, ResponseParser } from '../../src/loadtest/http1-parser.ts';

interface Outcome {
  /** Offset (in the whole input) just after the response, or -1 if incomplete. */
  end: number;
  status: number;
  keepAlive: boolean;
}

/** Feed `input` in the given pieces (each copied into a reused, stale-filled buffer like net's onread). */
function feed(input: string, cuts: number[], opts: { head?: boolean } = {}): Outcome {
  const bytes = Buffer.from(input, 'latin1');
  const p = new ResponseParser();
  p.reset(opts.head ?? false);
  const scratch = Buffer.alloc(bytes.length + 64);
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    if (to < from) continue;
    // Stale bytes after the piece: a CRLFCRLF there must not count.
    scratch.fill('\r\n\r\n');
    bytes.copy(scratch, 0, from, to);
    const end = p.execute(scratch, 0, to - from);
    if (end >= 0) return { end: from + end, status: p.status, keepAlive: p.keepAlive };
    from = to;
  }
  return { end: -1, status: p.status, keepAlive: p.keepAlive };
}

/** Every way to split the input in two, and byte by byte: all must give the same outcome. */
function allSplits(input: string, opts: { head?: boolean } = {}): Outcome {
  const whole = feed(input, [], opts);
  for (let k = 0; k <= input.length; k++) expect(feed(input, [k], opts), `split at ${k}`).toEqual(whole);
  const bytes = Array.from({ length: input.length }, (_, i) => i + 1);
  expect(feed(input, bytes, opts), 'byte by byte').toEqual(whole);
  return whole;
}

const ok = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello';

describe('ResponseParser', () => {
  it('Content-Length body: ends exactly after the body, keep-alive by default in HTTP/1.1', () => {
    expect(allSplits(ok)).toEqual({ end: ok.length, status: 200, keepAlive: true });
  });

  it('stops at the end of the first response when a second follows', () => {
    const two = `${ok}HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n`;
    expect(allSplits(two)).toEqual({ end: ok.length, status: 200, keepAlive: true });
  });

  it('chunked body with extensions and trailers, case-insensitive names', () => {
    const res =
      'HTTP/1.1 201 Created\r\ntransfer-ENCODING: chunked\r\n\r\n' +
      '5;name=value\r\nhello\r\n' +
      'A ; x\r\n0123456789\r\n' +
      '0\r\nX-Trailer: yes\r\nX-More: 2\r\n\r\n';
    expect(allSplits(res)).toEqual({ end: res.length, status: 201, keepAlive: true });
  });

  it('chunked body without trailers; an incomplete one is not done', () => {
    const res = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
    expect(allSplits(res).end).toBe(res.length);
    expect(feed(res.slice(0, -2), []).end).toBe(-1);
  });

  it('skips 1xx interim responses and reports the final status', () => {
    const res = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' + ok;
    expect(allSplits(res)).toEqual({ end: res.length, status: 200, keepAlive: true });
  });

  it.each([
    ['204', 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n'],
    ['304', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 999\r\nETag: "x"\r\n\r\n'],
  ])('%s has no body even with a Content-Length', (status, res) => {
    expect(allSplits(res)).toEqual({ end: res.length, status: Number(status), keepAlive: true });
  });

  it('HEAD: the Content-Length describes the GET body, none follows', () => {
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n';
    expect(allSplits(res, { head: true })).toEqual({ end: res.length, status: 200, keepAlive: true });
    expect(feed(res, []).end).toBe(-1); // the same bytes to a GET wait for 1000 body bytes
  });

  it('Connection: close and HTTP/1.0 defaults', () => {
    expect(feed('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', []).keepAlive).toBe(false);
    expect(feed('HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n', []).keepAlive).toBe(
      false,
    );
    expect(feed('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', []).keepAlive).toBe(false);
    expect(feed('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n', []).keepAlive).toBe(true);
  });

  it('a body without length runs to the close: finish() completes it, and the socket is not reused', () => {
    const p = new ResponseParser();
    p.reset(false);
    const b = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body');
    expect(p.execute(b, 0, b.length)).toBe(-1);
    expect(p.finish()).toBe(true);
    expect(p.keepAlive).toBe(false);
    // A close in the middle of a Content-Length body is not a complete response.
    const q = new ResponseParser();
    q.reset(false);
    const c = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort');
    expect(q.execute(c, 0, c.length)).toBe(-1);
    expect(q.finish()).toBe(false);
  });

  it('a status line without a reason phrase', () => {
    expect(allSplits('HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n').status).toBe(503);
  });

  it('reuse: reset() starts the next response', () => {
    const p = new ResponseParser();
    for (const st of [200, 500, 200]) {
      p.reset(false);
      const b = Buffer.from(`HTTP/1.1 ${st} X\r\nContent-Length: 2\r\n\r\nok`);
      expect(p.execute(b, 0, b.length)).toBe(b.length);
      expect(p.status).toBe(st);
    }
  });
});

describe('ResponseParser errors', () => {
  const parse = (s: string): unknown => {
    const p = new ResponseParser();
    p.reset(false);
    const b = Buffer.from(s, 'latin1');
    try {
      p.execute(b, 0, b.length);
      return undefined;
    } catch (err) {
      return err;
    }
  };

  it.each([
    ['an SSH banner (first byte already)', 'S', 'HPE_INVALID_CONSTANT'],
    ['an SSH banner', 'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n', 'HPE_INVALID_CONSTANT'],
    ['a TLS alert', '\x15\x03\x01\x00\x02\x02\x46', 'HPE_INVALID_CONSTANT'],
    ['HTTP/2 preface-like', 'HTTP/2 200\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a bad status', 'HTTP/1.1 2x0 OK\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['a bad Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    [
      'two different Content-Lengths',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HPE_INVALID_CONTENT_LENGTH',
    ],
    ['a header without colon', 'HTTP/1.1 200 OK\r\nbogus\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    [
      'a chunk without CRLF after the data',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd',
      'HPE_STRICT',
    ],
    ['a head that never ends', `HTTP/1.1 200 OK\r\n${'x: y\r\n'.repeat(20_000)}`, 'HPE_HEADER_OVERFLOW'],
  ])('%s → %s, classified not-http', (_name, input, code) => {
    const err = parse(input);
    expect(err).toBeInstanceOf(HttpParseError);
    expect((err as HttpParseError).code).toBe(code);
    expect(classifyError(err).kind).toBe('not-http');
  });

  it('a partial "HTTP/1." prefix is not an error yet', () => {
    expect(parse('HTTP/')).toBeUndefined();
    expect(parse('HTTP/1.1 20')).toBeUndefined();
  });
});
