// Kubernetes resource quantities, the subset people write for CPU and memory.
// CPU: "2" or 2 → 2000 millicores, "500m" → 500, "0.25" → 250.
// Memory: "256Mi" → 268,435,456 bytes, "1G" → 1,000,000,000, "1e9", or a plain byte count.

const MEMORY_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

const NUMBER = String.raw`(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?`;
const CPU_RE = new RegExp(`^${NUMBER}(m?)$`);
const MEM_RE = new RegExp(`^${NUMBER}(k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$`);

/** Millicores, or undefined when `q` is not a CPU quantity. */
export function parseCpuMillis(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) && q >= 0 ? q * 1000 : undefined;
  const m = CPU_RE.exec(q.trim());
  if (!m) return undefined;
  const value = Number(m[1]) * 10 ** Number(m[2] ?? 0);
  return m[3] === 'm' ? value : value * 1000;
}

/** Bytes, or undefined when `q` is not a memory quantity. */
export function parseMemoryBytes(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) && q >= 0 ? q : undefined;
  const m = MEM_RE.exec(q.trim());
  if (!m) return undefined;
  return Number(m[1]) * 10 ** Number(m[2] ?? 0) * (MEMORY_SUFFIX[m[3] ?? ''] ?? 1);
}

export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${Math.round(millis)}m`;
}

/** Largest binary unit that keeps the number ≥ 1, rounded up to a whole number of it. */
export function formatMemory(bytes: number): string {
  for (const unit of ['Gi', 'Mi', 'Ki'] as const) {
    const size = MEMORY_SUFFIX[unit] ?? 1;
    if (bytes >= size) return `${Math.ceil(bytes / size)}${unit}`;
  }
  return String(Math.ceil(bytes));
}
