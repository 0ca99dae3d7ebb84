// The end of `headroom run` (one service or a graph): a stop that hangs must not leave orphans.
// After the kill grace and a margin, exit 1; the supervisor's 'exit' hook SIGKILLs every instance
// still running.
async function stopOrExit(stop: () => Promise<void>, killGraceSeconds: number): Promise<void> {
  const limitMs = (killGraceSeconds + 15) * 1000;
  const stopped = await Promise.race([
    stop().then(() => true),
    new Promise<false>((res) => setTimeout(() => res(false), limitMs).unref()),
  ]);
  if (!stopped) {
    process.stderr.write(`headroom run: stop did not finish within ${limitMs / 1000} s; killing instances\n`);
    process.exit(1);
  }
}

/**
 * How long a run lasts: until SIGINT/SIGTERM, a deadline or `end()`. `ended` resolves then.
 *
 * The handlers stay for the whole drain (until `finish` returns), not just for the first signal:
 * - a second SIGTERM is ignored, said once on stderr: a group kill
 *   through scripts/bootstrap.mjs delivers two (the group's and the one the wrapper forwards), and
 *   the drain must still end with `stopping` … `done`;
 * - a second SIGINT (Ctrl-C twice) forces, as common CLIs do: exit 130 at once, the supervisors'
 *   exit hooks SIGKILL every instance still running (no `done`).
 */
export class RunLifetime {
  readonly #ctl = new AbortController();
  readonly #onSignal = (sig: NodeJS.Signals): void => {
    // Counted: a run that ended by itself (--duration, the traffic's end) is drained on the first
    // Ctrl-C too; only a second signal is "again".
    if (++this.#signals === 1) {
      this.#ctl.abort();
      return;
    }
    if (sig === 'SIGINT') {
      process.stderr.write('headroom run: interrupted again; killing instances without draining\n');
      process.exit(130);
    }
    if (!this.#repeatSaid) {
      this.#repeatSaid = true;
      process.stderr.write(`headroom run: already stopping (${sig} ignored; Ctrl-C twice forces)\n`);
    }
  };
  #repeatSaid = false;
  #signals = 0;
  // A reader that quit (`--json | head -1`, a closed pager) made stdout throw EPIPE as an unhandled
  // 'error' with a stack trace: it now ends the run as a stop would (drained, exit 0), said once.
  readonly #onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (this.#stdoutClosed) return;
    this.#stdoutClosed = true;
    process.stderr.write(`headroom run: stdout closed (${err.code ?? err.message}); stopping\n`);
    this.#ctl.abort();
  };
  #stdoutClosed = false;
  readonly ended: Promise<void>;

  constructor() {
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
    process.stdout.on('error', this.#onStdoutError);
    this.ended = new Promise<void>((res) => this.#ctl.signal.addEventListener('abort', () => res(), { once: true }));
  }

  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  end(): void {
    this.#ctl.abort();
  }

  endAfter(seconds: number): void {
    setTimeout(() => this.#ctl.abort(), seconds * 1000).unref();
  }

  /**
   * Stop what runs (see stopOrExit), then give the signals back. Until then a repeated SIGTERM is
   * ignored and a repeated SIGINT forces (see the class).
   */
  async finish(stop: () => Promise<void>, killGraceSeconds: number): Promise<void> {
    await stopOrExit(stop, killGraceSeconds);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }
}
