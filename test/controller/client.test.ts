// The shared-dispatcher view of a KubeConfig (makeClients): one undici Agent for every request
// while the TLS material is unchanged, a new one when it changes, and per-request headers intact.
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ReusedDispatcher } from '../../src/adapters/kubernetes/client.ts';

function config(caData: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData, skipTLSVerify: false }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function authed(kc: KubeConfig): Promise<RequestContext> {
  const ctx = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx;
}

const ca = (s: string): string =>
  Buffer.from(`-----BEGIN CERTIFICATE-----\n${s}\n-----END CERTIFICATE-----\n`).toString('base64');

describe('ReusedDispatcher', () => {
  it('client-node alone builds a new dispatcher per request (why the view exists)', async () => {
    const kc = config(ca('AAAA'), 't1');
    const a = (await authed(kc)).getDispatcher();
    const b = (await authed(kc)).getDispatcher();
    expect(a).toBeDefined();
    expect(a).not.toBe(b);
    await Promise.all([a?.close(), b?.close()]);
  });

  it('reuses one dispatcher and still sets the current token per request', async () => {
    const base = config(ca('AAAA'), 't1');
    const r = new ReusedDispatcher(base);
    const c1 = await authed(r.kc);
    (base.users[0] as { token?: string }).token = 't2';
    const c2 = await authed(r.kc);
    expect(c1.getDispatcher()).toBeDefined();
    expect(c2.getDispatcher()).toBe(c1.getDispatcher());
    expect(r.built).toBe(1);
    expect(c1.getHeaders().Authorization).toBe('Bearer t1');
    expect(c2.getHeaders().Authorization).toBe('Bearer t2');
    await c1.getDispatcher()?.close();
  });

  it('builds a new dispatcher when the TLS material changes (a rotated CA)', async () => {
    const base = config(ca('AAAA'), 't1');
    const r = new ReusedDispatcher(base);
    const d1 = (await authed(r.kc)).getDispatcher();
    (base.clusters[0] as { caData?: string }).caData = ca('BBBB');
    const d2 = (await authed(r.kc)).getDispatcher();
    const d3 = (await authed(r.kc)).getDispatcher();
    expect(d2).not.toBe(d1);
    expect(d3).toBe(d2);
    expect(r.built).toBe(2);
    await d2?.close();
  });
});
