// Bounded reads of input files (specs, profiles, traces, alert configs). `readFileSync` alone
// would read /dev/zero until the heap gives out (4–6 GB seen), block forever on a FIFO with no
// writer, and read a 2 GB file whole before any check. Here: the file must be a regular file (or
// stdin), and at most `maxBytes` are read — one byte more tells that it is too large.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';

const MiB = 2 ** 20;
/** Spec files and capacity profiles: 16 MiB is ~100,000 services, far above any real spec. */
export const SPEC_MAX_BYTES = 16 * MiB;

export interface ReadOptions {
  /** What the file is, for messages: "the spec", "the trace". */
  what: string;
  maxBytes: number;
  /** Key path that named the file (e.g. services[0].instance.profile), for messages. */
  path?: string;
  /** The file as written where it was named (relative), shown instead of the resolved path. */
  shown?: string;
}

/** Reads a regular file (or `-`/fd 0 when `file` is 0) as UTF-8, at most maxBytes. */
export function readInputFile(file: string | 0, opts: ReadOptions): string {
  const shown = opts.shown ?? (file === 0 ? '<stdin>' : file);
  const fail = (code: ProblemDetail['code'], message: string, allowed?: string): HeadroomError =>
    new HeadroomError({
      code,
      ...(opts.path !== undefined ? { path: opts.path, value: shown } : { file: shown }),
      message,
      ...(allowed !== undefined ? { allowed } : {}),
    });
  let fd: number;
  if (file === 0) fd = 0;
  else {
    try {
      // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
      fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw fail('HR_FILE_READ', `cannot read ${opts.what}: ${readErrorText(err)}`);
    }
  }
  try {
    if (file !== 0 && !fstatSync(fd).isFile()) {
      throw fail(
        'HR_FILE_READ',
        `cannot read ${opts.what}: not a regular file (a device, FIFO, socket or directory)`,
        'a regular file',
      );
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 * MiB, opts.maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        // stdin may be a non-blocking pipe: wait a little for the writer.
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw fail('HR_FILE_READ', `cannot read ${opts.what}: ${readErrorText(err)}`);
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > opts.maxBytes) {
        throw fail(
          'HR_INPUT_TOO_LARGE',
          `${opts.what} is larger than ${opts.maxBytes / MiB} MiB`,
          `at most ${opts.maxBytes / MiB} MiB`,
        );
      }
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    if (file !== 0) closeSync(fd);
  }
}

function readErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? (err instanceof Error ? err.message : String(err));
}
