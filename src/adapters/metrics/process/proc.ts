// Per-instance CPU and memory from /proc (Linux), and the host's cores and memory.
//
// /proc/<pid>/stat fields 14 and 15 (utime, stime) count CPU time in clock ticks (USER_HZ, 100 on
// Linux). CPU use over an interval = Δticks / USER_HZ / Δseconds: 150 ticks in 2 s → 0.75 cores.
// /proc/<pid>/status `VmRSS: 51234 kB` is the resident memory.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

export interface HostResources {
  /** CPUs this process may use (cgroup/affinity aware where Node knows it). */
  cores: number;
  memoryBytes: number;
}

export function hostResources(): HostResources {
  return { cores: availableParallelism(), memoryBytes: totalmem() };
}

let userHz: number | undefined;
/** USER_HZ from `getconf CLK_TCK`; 100 when getconf is missing (the Linux value on every arch). */
export function clockTicksPerSecond(): number {
  if (userHz === undefined) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
      userHz = Number.isFinite(v) && v > 0 ? v : 100;
    } catch {
      userHz = 100;
    }
  }
  return userHz;
}

/** utime + stime of `pid` in clock ticks, or undefined when the process is gone / not Linux. */
export function readCpuTicks(pid: number): number | undefined {
  const text = readProc(pid, 'stat');
  return text === undefined ? undefined : parseCpuTicks(text);
}

/** /proc/<pid>/<file>, or undefined when the process is gone (or this is not Linux). */
function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Parse /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold spaces. */
export function parseCpuTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")" comes field 3 (state); utime is field 14 → index 11, stime field 15 → index 12.
  const fields = stat.slice(close + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** Resident memory of `pid` in bytes (VmRSS), or undefined. */
export function readRssBytes(pid: number): number | undefined {
  const text = readProc(pid, 'status');
  return text === undefined ? undefined : parseRssBytes(text);
}

export function parseRssBytes(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

export interface ProcessUsage {
  /** Cores used on average since the previous sample (0.5 = half a core). */
  cpuCores: number;
  memoryBytes: number;
}

/** Samples CPU (as a rate between calls) and memory of a changing set of processes. */
export class ProcessSampler {
  private readonly last = new Map<number, { ticks: number; atMs: number }>();
  private readonly now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  /** Usage of each live pid; a pid seen for the first time reports 0 CPU until the next sample. */
  sample(pids: readonly number[]): Map<number, ProcessUsage> {
    const hz = clockTicksPerSecond();
    const t = this.now();
    const out = new Map<number, ProcessUsage>();
    const seen = new Set<number>();
    for (const pid of pids) {
      const ticks = readCpuTicks(pid);
      const rss = readRssBytes(pid);
      if (ticks === undefined || rss === undefined) continue;
      seen.add(pid);
      const prev = this.last.get(pid);
      const dt = prev ? (t - prev.atMs) / 1000 : 0;
      const cpuCores = prev && dt > 0 ? Math.max(0, (ticks - prev.ticks) / hz / dt) : 0;
      this.last.set(pid, { ticks, atMs: t });
      out.set(pid, { cpuCores, memoryBytes: rss });
    }
    for (const pid of this.last.keys()) if (!seen.has(pid)) this.last.delete(pid);
    return out;
  }
}
