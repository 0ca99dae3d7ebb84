import { describe, expect, it } from 'vitest';
import {
  parseCpuTicks,
  parseRssBytes,
  ProcessSampler,
  readCpuTicks,
  readRssBytes,
} from '../../src/adapters/metrics/process/proc.ts';
import { hostFitLimit } from '../../src/local/capacity.ts';

describe('/proc parsing', () => {
  it('reads utime + stime after a command name with spaces and parentheses', () => {
    const stat =
      '4711 (my (odd) app) S 1 4711 4711 0 -1 4194560 500 0 0 0 150 30 0 0 20 0 4 0 100 1000000 200 18446744073709551615';
    expect(parseCpuTicks(stat)).toBe(180);
    expect(parseCpuTicks('garbage')).toBeUndefined();
  });

  it('reads VmRSS in bytes', () => {
    expect(parseRssBytes('Name:\tnode\nVmPeak:\t 1000 kB\nVmRSS:\t   51234 kB\n')).toBe(51234 * 1024);
    expect(parseRssBytes('Name:\tkthread\n')).toBeUndefined();
  });

  it('samples this process: memory now, CPU as a rate after busy work', () => {
    expect(readRssBytes(process.pid)).toBeGreaterThan(10 * 1024 * 1024);
    expect(readCpuTicks(process.pid)).toBeGreaterThan(0);
    const sampler = new ProcessSampler();
    expect(sampler.sample([process.pid]).get(process.pid)?.cpuCores).toBe(0);
    const end = performance.now() + 300;
    let x = 0;
    while (performance.now() < end) x += Math.sqrt(x + 1);
    const u = sampler.sample([process.pid, 999_999_999]).get(process.pid)!;
    expect(u.cpuCores).toBeGreaterThan(0.2);
    expect(u.memoryBytes).toBeGreaterThan(0);
    expect(sampler.sample([999_999_999]).size).toBe(0);
  });
});

describe('host fit limit (the seed formula)', () => {
  const host = { cores: 2, memoryBytes: 8 * 1024 ** 3 };
  it('floor(min(cores·1000/cpu, memory/mem))', () => {
    expect(hostFitLimit(host, { cpuMillis: 250, memoryBytes: 256 * 1024 ** 2 })).toBe(8);
    expect(hostFitLimit(host, { cpuMillis: 300 })).toBe(6); // 2000/300 = 6.67
    expect(hostFitLimit(host, { memoryBytes: 3 * 1024 ** 3 })).toBe(2); // 8/3 = 2.67
    expect(hostFitLimit(host, { cpuMillis: 100, memoryBytes: 1024 ** 3 })).toBe(8); // memory binds
  });
  it('is unbounded when the instance asks for nothing', () => {
    expect(hostFitLimit(host, {})).toBeUndefined();
  });
});
