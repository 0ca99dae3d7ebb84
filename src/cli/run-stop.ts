// The end of `headroom run` (one service or a graph): a stop that hangs must not leave orphans.
// After the kill grace and a margin, exit 1; the supervisor's 'exit' hook SIGKILLs every instance
// still running.
export async function stopOrExit(stop: () => Promise<void>, killGraceSeconds: number): Promise<void> {
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
