// A minimal HTTP/1.x response parser for the load generator: it needs the status, whether the
// connection stays open, and where the response ends; the body is skipped without copying.
//
// Handled: status line, Content-Length, Transfer-Encoding: chunked (extensions and trailers skipped),
// bodies delimited by the connection close, Connection: close / keep-alive, 1xx interim responses
// (skipped), no body for HEAD, 204 and 304. Input may be split at any byte. Bytes that are not
// HTTP/1.x throw an HttpParseError whose code starts with `HPE_` (llhttp's names), which
// classifyError maps to 'not-http'.

export class HttpParseError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'HttpParseError';
    this.code = code;
  }
}

/** Status line + headers larger than this are refused (llhttp's default is 80 KiB). */
const MAX_HEAD = 80 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const PREFIX = 'HTTP/1.';
const CR = 13;
const LF = 10;

// Parser states.
const HEAD = 0; // status line and headers, up to the empty line
const BODY = 1; // Content-Length bytes left in `remaining`
const CHUNK_SIZE = 2; // hex digits of a chunk-size line
const CHUNK_EXT = 3; // `;ext=…` (or whitespace) after the size, up to CR
const CHUNK_SIZE_LF = 4; // the LF ending the size line
const CHUNK_DATA = 5; // chunk bytes left in `remaining`
const CHUNK_DATA_CR = 6; // the CRLF after the chunk data
const CHUNK_DATA_LF = 7;
const TRAILER = 8; // trailer lines after the last chunk, up to an empty line
const TRAILER_LF = 9;
const EOF_BODY = 10; // body runs until the server closes the connection
const DONE = 11;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** True when the comma-separated header value lists `token` (case-insensitive). */
function hasToken(value: string, token: string): boolean {
  for (const t of value.split(',')) if (t.trim().toLowerCase() === token) return true;
  return false;
}

export class ResponseParser {
  /** Status of the final response (after any 1xx). */
  status = 0;
  /** Whether the connection may carry the next request once this response is complete. */
  keepAlive = true;
  private state = HEAD;
  private noBody = false;
  private remaining = 0;
  private lineLen = 0;
  private digits = 0;
  /** Bytes of an incomplete head (copied: heads are small, and the read buffer is reused). */
  private pending: Buffer | null = null;

  /** Prepare for the next response; `noBody` for a HEAD request. */
  reset(noBody: boolean): void {
    this.state = HEAD;
    this.noBody = noBody;
    this.status = 0;
    this.keepAlive = true;
    this.pending = null;
  }

  /**
   * Consume buf[start, end). Returns the offset just after the response once it is complete, else -1
   * (more bytes needed). Throws HttpParseError on bytes that are not a valid response.
   */
  execute(buf: Buffer, start: number, end: number): number {
    let i = start;
    while (i < end && this.state !== DONE) {
      switch (this.state) {
        case HEAD:
          i = this.head(buf, i, end);
          break;
        case BODY: {
          const n = Math.min(this.remaining, end - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = DONE;
          break;
        }
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, end - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = CHUNK_DATA_CR;
          break;
        }
        case EOF_BODY:
          i = end;
          break;
        default:
          this.chunkByte(buf[i]!);
          i++;
      }
    }
    return this.state === DONE ? i : -1;
  }

  /** The server closed the connection: true when that completes the response (close-delimited body). */
  finish(): boolean {
    if (this.state === EOF_BODY) this.state = DONE;
    return this.state === DONE;
  }

  // The framing bytes of a chunked body, one at a time (a few per chunk).
  private chunkByte(c: number): void {
    switch (this.state) {
      case CHUNK_SIZE: {
        const h = hexValue(c);
        if (h >= 0) {
          // 13 hex digits = 2^52: beyond that the size is not a safe integer.
          if (++this.digits > 13) throw new HttpParseError('HPE_INVALID_CHUNK_SIZE', 'chunk size too large');
          this.remaining = this.remaining * 16 + h;
        } else if (this.digits === 0) {
          throw new HttpParseError('HPE_INVALID_CHUNK_SIZE', 'invalid character in chunk size');
        } else if (c === CR) this.state = CHUNK_SIZE_LF;
        else if (c === 59 /* ; */ || c === 32 || c === 9) this.state = CHUNK_EXT;
        else throw new HttpParseError('HPE_INVALID_CHUNK_SIZE', 'invalid character in chunk size');
        return;
      }
      case CHUNK_EXT:
        if (c === CR) this.state = CHUNK_SIZE_LF;
        else if (++this.lineLen > MAX_HEAD)
          throw new HttpParseError('HPE_CHUNK_EXTENSIONS_OVERFLOW', 'chunk extensions too large');
        return;
      case CHUNK_SIZE_LF:
        if (c !== LF) throw new HttpParseError('HPE_STRICT', 'expected LF after the chunk size');
        this.lineLen = 0;
        // The last chunk (size 0) is followed by trailers and an empty line.
        this.state = this.remaining === 0 ? TRAILER : CHUNK_DATA;
        return;
      case CHUNK_DATA_CR:
        if (c !== CR) throw new HttpParseError('HPE_STRICT', 'expected CRLF after chunk data');
        this.state = CHUNK_DATA_LF;
        return;
      case CHUNK_DATA_LF:
        if (c !== LF) throw new HttpParseError('HPE_STRICT', 'expected CRLF after chunk data');
        this.state = CHUNK_SIZE;
        this.digits = 0;
        this.remaining = 0;
        return;
      case TRAILER:
        if (c === CR) this.state = TRAILER_LF;
        else if (++this.lineLen > MAX_HEAD) throw new HttpParseError('HPE_HEADER_OVERFLOW', 'trailers too large');
        return;
      case TRAILER_LF:
        if (c !== LF) throw new HttpParseError('HPE_STRICT', 'expected LF in the trailers');
        if (this.lineLen === 0) this.state = DONE;
        else {
          this.lineLen = 0;
          this.state = TRAILER;
        }
        return;
    }
  }

  // Find the end of the head (CRLFCRLF), parse it, and return the offset in `buf` after it (or `end`).
  private head(buf: Buffer, start: number, end: number): number {
    // The head so far is data[headStart, stop): `buf` itself, or the carried bytes joined with it.
    let data = buf;
    let headStart = start;
    let stop = end;
    let from = start;
    const carried = this.pending ? this.pending.length : 0;
    if (this.pending) {
      // A head split across reads (rare, small): join, and search from just before the seam.
      data = Buffer.concat([this.pending, buf.subarray(start, end)]);
      headStart = 0;
      stop = data.length;
      from = Math.max(0, carried - 3);
    }
    // Fail fast on a non-HTTP banner (SSH, a database, TLS) without waiting for a CRLFCRLF.
    const checkEnd = Math.min(stop, headStart + PREFIX.length);
    for (let k = headStart + Math.min(carried, PREFIX.length); k < checkEnd; k++) {
      if (data[k] !== PREFIX.charCodeAt(k - headStart))
        throw new HttpParseError('HPE_INVALID_CONSTANT', 'Expected HTTP/');
    }
    // indexOf scans the whole buffer (the reused read buffer holds stale bytes past `stop`), so a
    // match counts only when it ends by `stop`; a later one cannot start earlier.
    const idx = data.indexOf(CRLFCRLF, from);
    if (idx < 0 || idx + 4 > stop) {
      if (stop - headStart > MAX_HEAD) throw new HttpParseError('HPE_HEADER_OVERFLOW', 'response head too large');
      this.pending = Buffer.from(data.subarray(headStart, stop));
      return end;
    }
    this.pending = null;
    this.parseHead(data.toString('latin1', headStart, idx + 2));
    return carried ? start + idx + 4 - carried : idx + 4;
  }

  // `text` is the status line and header lines, each ending in CRLF.
  private parseHead(text: string): void {
    // "HTTP/1.1 200 OK": version digit at 7, space at 8, three status digits at 9…11.
    const minor = text.charCodeAt(7);
    const status = Number(text.slice(9, 12));
    const after = text.charCodeAt(12);
    if (
      (minor !== 48 && minor !== 49) ||
      text.charCodeAt(8) !== 32 ||
      !/^\d{3}$/.test(text.slice(9, 12)) ||
      (after !== 32 && after !== CR)
    ) {
      throw new HttpParseError('HPE_INVALID_STATUS', `invalid status line: ${JSON.stringify(text.slice(0, 40))}`);
    }
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let connection: string | undefined;
    let pos = text.indexOf('\r\n') + 2;
    while (pos < text.length) {
      const eol = text.indexOf('\r\n', pos);
      const colon = text.indexOf(':', pos);
      if (colon < 0 || colon > eol) throw new HttpParseError('HPE_INVALID_HEADER_TOKEN', 'header line without a colon');
      const nameLen = colon - pos;
      // Only three headers matter; compare the name only when its length fits.
      if (nameLen === 14 || nameLen === 17 || nameLen === 10) {
        const name = text.slice(pos, colon).toLowerCase();
        const value = text.slice(colon + 1, eol).trim();
        if (name === 'content-length') {
          if (!/^\d{1,15}$/.test(value) || (contentLength >= 0 && Number(value) !== contentLength)) {
            throw new HttpParseError('HPE_INVALID_CONTENT_LENGTH', `invalid Content-Length: ${JSON.stringify(value)}`);
          }
          contentLength = Number(value);
        } else if (name === 'transfer-encoding') {
          transferEncoding = true;
          // Chunked must be the last coding; anything else is delimited by the close.
          chunked = value.toLowerCase().endsWith('chunked');
        } else if (name === 'connection') {
          connection = connection === undefined ? value : `${connection},${value}`;
        }
      }
      pos = eol + 2;
    }
    if (status >= 100 && status < 200 && status !== 101) return; // interim: the real response follows
    this.status = status;
    this.keepAlive =
      connection === undefined
        ? minor === 49
        : minor === 49
          ? !hasToken(connection, 'close')
          : hasToken(connection, 'keep-alive') && !hasToken(connection, 'close');
    if (status === 101) {
      // Switching protocols: nothing more we can parse on this connection.
      this.keepAlive = false;
      this.state = DONE;
    } else if (this.noBody || status === 204 || status === 304) {
      this.state = DONE;
    } else if (transferEncoding) {
      // Transfer-Encoding wins over Content-Length; both together is suspicious: do not reuse.
      if (contentLength >= 0) this.keepAlive = false;
      if (chunked) {
        this.state = CHUNK_SIZE;
        this.digits = 0;
        this.remaining = 0;
      } else {
        this.state = EOF_BODY;
        this.keepAlive = false;
      }
    } else if (contentLength >= 0) {
      this.remaining = contentLength;
      this.state = contentLength === 0 ? DONE : BODY;
    } else {
      this.state = EOF_BODY;
      this.keepAlive = false;
    }
  }
}
