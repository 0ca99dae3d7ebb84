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
 */
export class RunLifetime {
  readonly #ctl = new AbortController();
  readonly #onSignal = (): void => this.#ctl.abort();
  readonly ended: Promise<void>;

  constructor() {
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
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

  /** Stop what runs (see stopOrExit), then give the signals back: a second Ctrl-C kills, as usual. */
  async finish(stop: () => Promise<void>, killGraceSeconds: number): Promise<void> {
    await stopOrExit(stop, killGraceSeconds);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }
}
