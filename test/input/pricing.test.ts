import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HeadroomError, type ProblemDetail } from '../../src/core/errors.ts';
import { parseSpecText, serviceModelFromSpec } from '../../src/input/load.ts';

function problems(text: string): ProblemDetail[] {
  try {
    parseSpecText(text, 'spec.yaml', tmpdir());
  } catch (err) {
    if (err instanceof HeadroomError) return [...err.problems];
    throw err;
  }
  return expect.unreachable('expected a HeadroomError') as never;
}

const svc = (name: string, instance: string, extra = ''): string =>
  `  - name: ${name}\n    instance: { serviceTimeMs: 20${instance} }\n${extra}`;

describe('pricing: in the spec', () => {
  it("the file's block prices every service; a service's own block replaces it and inherits its currency", () => {
    const spec = parseSpecText(
      `pricing: { currency: EUR, cpuHour: 0.0316, memoryGiBHour: 0.0042 }
services:
${svc('api', ', cpu: 500m, memory: 1Gi')}${svc('batch', '', '    pricing: { instanceHour: 0.05 }\n')}`,
      'spec.yaml',
    );
    expect(spec.services[0]?.pricing).toEqual({ currency: 'EUR', cpuHour: 0.0316, memoryGiBHour: 0.0042 });
    expect(spec.services[1]?.pricing).toEqual({ currency: 'EUR', instanceHour: 0.05 });
  });

  it('without pricing a service has none', () => {
    const spec = parseSpecText(`services:\n${svc('api', ', cpu: 500m')}`, 'spec.yaml');
    expect(spec.services[0]).not.toHaveProperty('pricing');
  });

  it('negative, NaN, a wrong currency and a typo: HR_SPEC_INVALID, all at once', () => {
    const ps = problems(`pricing: { currency: usd, cpuHour: -0.01, memoryGiBHour: .nan, instanceHr: 1 }
services:
${svc('api', ', cpu: 500m, memory: 1Gi', '    pricing: { currency: USD, instanceHour: -1 }\n')}`);
    expect(ps.map((p) => [p.code, p.path]).sort()).toEqual(
      [
        ['HR_SPEC_INVALID', 'pricing.currency'],
        ['HR_SPEC_INVALID', 'pricing.cpuHour'],
        ['HR_SPEC_INVALID', 'pricing.memoryGiBHour'],
        ['HR_SPEC_INVALID', 'pricing.instanceHr'],
        ['HR_SPEC_INVALID', 'services[0].pricing.instanceHour'],
      ].sort(),
    );
    expect(ps.find((p) => p.path === 'pricing.cpuHour')).toMatchObject({ value: -0.01, allowed: '>= 0' });
    expect(Number.isNaN(ps.find((p) => p.path === 'pricing.memoryGiBHour')?.value)).toBe(true);
  });

  it('mixed styles, missing requests, no price, no currency, two currencies: HR_PRICING naming service and key, all at once', () => {
    const ps = problems(`pricing: { currency: USD, cpuHour: 0.0316, memoryGiBHour: 0.0042 }
services:
${svc('api', ', cpu: 500m, memory: 1Gi')}${svc('cache', ', memory: 1Gi')}${svc('batch', '', '    pricing: { instanceHour: 0.05, cpuHour: 0.03 }\n')}${svc('idle', '', '    pricing: { currency: USD }\n')}${svc('eu', '', '    pricing: { currency: EUR, instanceHour: 0.04 }\n')}`);
    expect(ps.every((p) => p.code === 'HR_PRICING' && p.file === 'spec.yaml')).toBe(true);
    expect(ps.map((p) => p.path)).toEqual([
      'services[1].instance.cpu',
      'services[2].pricing.instanceHour',
      'services[3].pricing',
      'services[4].pricing.currency',
    ]);
    expect(ps[0]?.message).toBe('service cache: required by pricing.cpuHour (a price per CPU core of instance.cpu)');
    expect(ps[1]?.message).toMatch(/both a price per instance and cpuHour: ambiguous/);
    expect(ps[2]?.message).toBe('no price');
    expect(ps[3]).toMatchObject({ value: 'EUR', allowed: 'USD' });
    expect(ps[3]?.message).toMatch(/^service eu: priced in EUR, but api in USD/);
  });

  it('a second currency is reported with the other problems of its service, not after them', () => {
    // cache inherits USD and lacks the instance.cpu its cpuHour needs: both at once.
    const ps = problems(`pricing: { currency: USD, cpuHour: 0.03 }
services:
${svc('web', ', cpu: 500m', '    pricing: { currency: EUR, instanceHour: 0.1 }\n')}${svc('cache', '')}`);
    expect(ps.map((p) => [p.code, p.path])).toEqual([
      ['HR_PRICING', 'services[1].pricing.currency'],
      ['HR_PRICING', 'services[1].instance.cpu'],
    ]);
  });

  it("a bad file block is reported once (not per service); a service's own block needs a currency without one", () => {
    const ps = problems(`pricing: { cpuHour: 0.03, instanceHour: 0.05 }
services:
${svc('api', '')}${svc('b', '')}`);
    expect(ps.map((p) => p.path)).toEqual(['pricing.currency', 'pricing.instanceHour']);
    expect(() =>
      serviceModelFromSpec({ name: 'x', instance: { serviceTimeMs: 1 }, pricing: { instanceHour: 1 } }),
    ).toThrow(/HR_PRICING.*pricing\.currency: required/);
    expect(
      serviceModelFromSpec({ name: 'x', instance: { serviceTimeMs: 1 }, pricing: { currency: 'USD', instanceHour: 1 } })
        .pricing,
    ).toEqual({ currency: 'USD', instanceHour: 1 });
  });
});
