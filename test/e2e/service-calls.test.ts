// examples/service.ts CALLS as real processes: the caller calls its callee ⌊p⌋ or ⌈p⌉ times per
// request (p on average), a failed call answers 502 and is counted, a bad CALLS exits 2 naming it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLE_SERVICE } from '../local/helpers.ts';

const NODE = [process.execPath, '--disable-warning=ExperimentalWarning', EXAMPLE_SERVICE];
const children: ChildProcess[] = [];

/** Start the example service on a free port; resolves its URL from the listen line. */
function start(env: Record<string, string>): Promise<string> {
  const child = spawn(NODE[0]!, [...NODE.slice(1), '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

const metric = async (url: string, re: RegExp): Promise<number> => {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return Number(re.exec(text)?.[1] ?? 0);
};

afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
});

describe('examples/service.ts CALLS', () => {
  it('perRequest 1.5 sequential + 1 parallel: the callee serves 2.5 calls per request on average', async () => {
    const callee = await start({ WORK_MS: '1', CONCURRENCY: '8', SEED: '1' });
    const calls = [
      { url: callee, perRequest: 1.5 },
      { url: callee, perRequest: 1, mode: 'parallel' },
    ];
    const caller = await start({ WORK_MS: '1', CONCURRENCY: '8', SEED: '2', CALLS: JSON.stringify(calls) });
    const n = 200;
    for (let i = 0; i < n; i += 10) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${caller}/`)));
      for (const a of answers) expect(a.status).toBe(200);
      await Promise.all(answers.map((a) => a.text()));
    }
    const served = await metric(callee, /http_requests_total\{code="200"\} (\d+)/);
    // 200 × 1.5 sequential (binomial: 100 ± 7 second calls) + 200 parallel = 500 ± 35 (5σ).
    expect(served).toBeGreaterThan(465);
    expect(served).toBeLessThan(535);
    expect(await metric(caller, /http_calls_total\{callee="[^"]+",outcome="ok"\} (\d+)/)).toBe(served);
  });

  it('a callee that does not answer: 502 to the caller, counted as a failed call', async () => {
    const caller = await start({
      WORK_MS: '1',
      CALLS: JSON.stringify([{ url: 'http://127.0.0.1:9', perRequest: 1 }]),
    });
    const r = await fetch(`${caller}/`);
    expect(r.status).toBe(502);
    expect(await r.json()).toMatchObject({ ok: false, error: 'a call failed' });
    expect(await metric(caller, /http_calls_total\{callee="[^"]+",outcome="failed"\} (\d+)/)).toBe(1);
    expect(await metric(caller, /http_requests_total\{code="502"\} (\d+)/)).toBe(1);
  });

  it('a bad CALLS exits 2 naming the key', () => {
    const r = spawnSync(NODE[0]!, [...NODE.slice(1), '--port', '0'], {
      env: { ...process.env, CALLS: '[{"url":"http://127.0.0.1:1","perRequest":0,"mode":"both"}]' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    const msg = (JSON.parse(r.stderr.trim()) as { msg: string }).msg;
    expect(msg).toContain('CALLS[0].perRequest: Too small');
    expect(msg).toContain('CALLS[0].mode: Invalid option');
  });
});
