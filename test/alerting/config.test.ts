import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildNotifiers } from '../../src/adapters/notifiers/index.ts';
import { formatDuration, loadAlertConfig, parseAlertConfig, parseDuration } from '../../src/alerting/config.ts';
import { defaultRules } from '../../src/alerting/defaults.ts';
import { HeadroomError, type ProblemDetail } from '../../src/core/errors.ts';

function problems(raw: unknown): ProblemDetail[] {
  try {
    parseAlertConfig(raw, 'alerts.yaml');
  } catch (err) {
    if (err instanceof HeadroomError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a HeadroomError');
}

describe('durations', () => {
  it.each([
    ['30s', 30],
    ['5m', 300],
    ['1h30m', 5400],
    ['250ms', 0.25],
    [90, 90],
  ] as const)('%s = %s s', (d, s) => expect(parseDuration(d)).toBe(s));
  it('formats for Prometheus', () => {
    expect([0, 30, 300, 5400, 86400, 0.5].map(formatDuration)).toEqual(['0s', '30s', '5m', '1h30m', '1d', '500ms']);
  });
});

describe('alerts config', () => {
  it('no config: the built-in rules, no receivers, no route', () => {
    const cfg = parseAlertConfig(undefined);
    expect(cfg.rules.map((r) => r.name)).toEqual(defaultRules().map((r) => r.name));
    expect(cfg.receivers).toEqual([]);
    expect(cfg.route).toBeUndefined();
    expect(Object.isFrozen(cfg.rules[0])).toBe(true);
  });

  it('user rules: expr shorthand, replacing and disabling defaults, durations', () => {
    const cfg = parseAlertConfig({
      rules: [
        { name: 'HeadroomInstanceCpuHigh', expr: 'instance.cpuUtilization > 80%', for: '10m', clearThreshold: 0.7 },
        { name: 'HeadroomCannotFit', enabled: false },
        {
          name: 'FewReady',
          metric: 'service.ready',
          op: '<',
          threshold: 2,
          keepFiringFor: '1m',
          severity: 'critical',
          labels: { team: 'pay' },
          services: ['pay'],
        },
      ],
    });
    const cpu = cfg.rules.find((r) => r.name === 'HeadroomInstanceCpuHigh');
    expect(cpu).toMatchObject({
      metric: 'instance.cpuUtilization',
      op: '>',
      threshold: 0.8,
      clearThreshold: 0.7,
      forSeconds: 600,
    });
    expect(cpu?.annotations.summary).toContain('CPU'); // kept the default annotations
    expect(cfg.rules.some((r) => r.name === 'HeadroomCannotFit')).toBe(false);
    expect(cfg.rules.find((r) => r.name === 'FewReady')).toMatchObject({
      keepFiringForSeconds: 60,
      labels: { team: 'pay' },
      services: ['pay'],
    });
  });

  it('errors name code, key path, value and the allowed range', () => {
    const p = problems({ rules: [{ name: 'X', metric: 'instance.cpu', op: '>', threshold: 1, for: 'soon' }] });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'HR_ALERT_RULE_INVALID',
          file: 'alerts.yaml',
          path: 'alerts.rules[0].metric',
          value: 'instance.cpu',
          allowed: expect.stringContaining('instance.cpuUtilization'),
        }),
        expect.objectContaining({ code: 'HR_ALERT_RULE_INVALID', path: 'alerts.rules[0].for', value: 'soon' }),
      ]),
    );
    const h = problems({ rules: [{ name: 'Y', expr: 'service.errorRate > 5%', clearThreshold: 0.1 }] });
    expect(h[0]).toMatchObject({ path: 'alerts.rules[0].clearThreshold', value: 0.1, allowed: '<= 0.05' });
    // A schema error in one rule (for: 5x) does not hide what the others get wrong.
    const mixed = problems({
      rules: [
        { name: 'A', expr: 'service.cpu > 90%' },
        { name: 'B', expr: 'service.errorRate > 5%', clearThreshold: 0.5 },
        { name: 'C', expr: 'service.errorRate > 5%', for: '5x' },
      ],
    });
    expect(mixed.map((p) => p.path).sort()).toEqual([
      'alerts.rules[0].expr',
      'alerts.rules[1].clearThreshold',
      'alerts.rules[2].for',
    ]);
    // ... nor a route's undefined receiver, nor a duplicate receiver name.
    const routed = problems({
      rules: [{ name: 'C', expr: 'service.errorRate > 5%', for: '5x' }],
      receivers: [
        { name: 'ops', webhook: { url: 'http://127.0.0.1:9/hook' } },
        { name: 'ops', webhook: { url: 'http://127.0.0.1:9/other' } },
      ],
      route: { receiver: 'pager' },
    });
    expect(routed.map((p) => [p.code, p.path, p.value])).toEqual([
      ['HR_ALERT_RULE_INVALID', 'alerts.rules[0].for', '5x'],
      ['HR_ALERT_ROUTE_INVALID', 'alerts.receivers[1].name', 'ops'],
      ['HR_ALERT_ROUTE_INVALID', 'alerts.route.receiver', 'pager'],
    ]);
    // A rule that no value can make true is a typo (5 for 5 %), not a quiet rule.
    const never = problems({
      rules: [
        { name: 'E', expr: 'service.errorRate > 5' },
        { name: 'F', expr: 'service.fits == 2' },
        { name: 'R', expr: 'service.ready < 0' },
        { name: 'C', expr: 'instance.cpuUtilization > 150%' }, // CPU can pass its request: allowed
      ],
    });
    expect(never.map((p) => [p.path, p.message])).toEqual([
      ['alerts.rules[0].expr', 'can never be true: service.errorRate > 5: it is between 0 and 1 (5 % is 5% or 0.05)'],
      ['alerts.rules[1].expr', 'can never be true: service.fits == 2: it is 0 or 1'],
      ['alerts.rules[2].expr', 'can never be true: service.ready < 0: it is never below 0'],
    ]);
    // >= (and <=) with the clear level at the threshold would fire and clear on alternate ticks.
    const eq = problems({ rules: [{ name: 'Z', expr: 'service.ready <= 1', clearThreshold: 1 }] });
    expect(eq[0]).toMatchObject({ path: 'alerts.rules[0].clearThreshold', value: 1, allowed: '> 1' });
    expect(problems({ rules: [{ name: 'B', metric: 'service.burnRate', op: '>', threshold: 2 }] })[0]?.path).toBe(
      'alerts.rules[0].windows',
    );
    expect(problems({ rules: [{ name: 'L', expr: 'service.fits == 0', labels: { service: 'x' } }] })[0]?.path).toBe(
      'alerts.rules[0].labels.service',
    );
    expect(
      problems({ rules: [{ name: 'T', expr: 'service.fits == 0', annotations: { s: '{{ $valu }}' } }] })[0]?.message,
    ).toContain('$valu');
    expect(problems({ rules: [{ name: 'NotThere', enabled: false }] })[0]?.code).toBe('HR_ALERT_RULE_INVALID');
  });

  it('routes must name existing receivers; receivers have exactly one kind', () => {
    const p = problems({
      receivers: [
        { name: 'a', webhook: { url: 'http://127.0.0.1:1/hook' } },
        { name: 'b', webhook: { url: 'http://127.0.0.1:1/x' }, slack: { url: 'http://127.0.0.1:1/s' } },
      ],
      route: {
        receiver: 'a',
        routes: [
          { receiver: 'nope', matchers: ['severity="critical"'] },
          { receiver: 'a', matchers: ['bad matcher'] },
        ],
      },
    });
    expect(p.map((x) => [x.code, x.path])).toEqual(
      expect.arrayContaining([
        ['HR_ALERT_ROUTE_INVALID', 'alerts.receivers[1]'],
        ['HR_ALERT_ROUTE_INVALID', 'alerts.route.routes[1].matchers[0]'],
      ]),
    );
    const q = problems({
      receivers: [{ name: 'a', webhook: { url: 'http://127.0.0.1:1/hook' } }],
      route: { receiver: 'a', routes: [{ receiver: 'nope' }] },
    });
    expect(q[0]).toMatchObject({
      code: 'HR_ALERT_ROUTE_INVALID',
      path: 'alerts.route.routes[0].receiver',
      value: 'nope',
      allowed: 'one of a',
    });
  });

  it('a single receiver needs no route; routes inherit group settings', () => {
    const one = parseAlertConfig({ receivers: [{ name: 'hook', webhook: { url: 'http://127.0.0.1:9/h' } }] });
    expect(one.route).toMatchObject({
      receiver: 'hook',
      groupBy: ['alertname', 'service'],
      groupWaitSeconds: 30,
      groupIntervalSeconds: 300,
      repeatIntervalSeconds: 14400,
    });
    const tree = parseAlertConfig({
      receivers: [
        { name: 'a', webhook: { url: 'http://127.0.0.1:9/a' } },
        { name: 'b', webhook: { url: 'http://127.0.0.1:9/b' } },
      ],
      route: {
        receiver: 'a',
        groupWait: '10s',
        routes: [{ receiver: 'b', matchers: ['severity=~"crit.*"'], repeatInterval: '1h' }],
      },
    });
    expect(tree.route?.routes[0]).toMatchObject({
      receiver: 'b',
      groupWaitSeconds: 10,
      repeatIntervalSeconds: 3600,
      matchers: [{ name: 'severity', op: '=~', value: 'crit.*' }],
    });
  });

  it('refuses a secret written in the YAML, without echoing it', () => {
    const secret = 'hunter2-very-secret';
    const p = problems({
      receivers: [
        {
          name: 'm',
          email: { to: 'a@b.c', from: 'h@b.c', smarthost: '127.0.0.1:25', username: 'u', password: secret },
        },
      ],
    });
    expect(p[0]).toMatchObject({ code: 'HR_ALERT_SECRET', path: 'alerts.receivers[0].email.password' });
    expect(JSON.stringify(p)).not.toContain(secret);
    const err = (() => {
      try {
        parseAlertConfig({ receivers: [{ name: 'w', webhook: { url: 'http://127.0.0.1:9/', token: secret } }] });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toContain('tokenEnv or tokenFile');
    expect(err?.message).not.toContain(secret);
  });

  it('refuses credentials hidden in a webhook header or a URL password, without echoing them', () => {
    const secret = 'hdr-s3cret-9931';
    const p = problems({
      receivers: [
        {
          name: 'w',
          webhook: { url: 'http://127.0.0.1:9/h', headers: { 'X-Api-Key': secret, 'x-team': 'pay' } },
        },
        { name: 'a', alertmanager: { url: `http://admin:${secret}@127.0.0.1:9093` } },
        { name: 's', slack: { url: `not a url ${secret}` } },
      ],
      route: { receiver: 'w' },
    });
    expect(p.map((x) => [x.code, x.path])).toEqual([['HR_ALERT_ROUTE_INVALID', 'alerts.receivers[2].slack.url']]);
    const q = problems({
      receivers: [
        { name: 'w', webhook: { url: 'http://127.0.0.1:9/h', headers: { 'X-Api-Key': secret, 'x-team': 'pay' } } },
        { name: 'a', alertmanager: { url: `http://admin:${secret}@127.0.0.1:9093` } },
      ],
      route: { receiver: 'w' },
    });
    expect(q.map((x) => [x.code, x.path])).toEqual([
      ['HR_ALERT_SECRET', 'alerts.receivers[0].webhook.headers.X-Api-Key'],
      ['HR_ALERT_SECRET', 'alerts.receivers[1].alertmanager.url'],
    ]);
    expect(JSON.stringify([...p, ...q])).not.toContain(secret);
    // X-Auth (and X-Auth-Token, X-Signature…) are credentials too; an SMTP port past 65535 is no port.
    const r = problems({
      receivers: [{ name: 'w', webhook: { url: 'http://127.0.0.1:9/h', headers: { 'X-Auth': secret } } }],
      route: { receiver: 'w' },
    });
    expect(r.map((x) => [x.code, x.path])).toEqual([['HR_ALERT_SECRET', 'alerts.receivers[0].webhook.headers.X-Auth']]);
    expect(JSON.stringify(r)).not.toContain(secret);
    const port = problems({
      receivers: [{ name: 'm', email: { to: 'a@b.c', from: 'h@b.c', smarthost: 'smtp.example.com:99999' } }],
      route: { receiver: 'm' },
    });
    expect(port.map((x) => [x.path, x.message])).toEqual([
      ['alerts.receivers[0].email.smarthost', 'the port must be 1 to 65535'],
    ]);
  });

  it('resolves secrets from env or file; a missing one is HR_ALERT_SECRET naming the variable, not a value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-secret-'));
    writeFileSync(join(dir, 'token'), 'file-token-123\n');
    const cfg = parseAlertConfig({
      receivers: [
        {
          name: 'm',
          email: {
            to: ['a@b.c'],
            from: 'h@b.c',
            smarthost: '127.0.0.1:25',
            username: 'u',
            passwordEnv: 'HR_TEST_SMTP_PW',
          },
        },
        { name: 'w', webhook: { url: 'http://127.0.0.1:9/', tokenFile: join(dir, 'token') } },
      ],
      route: { receiver: 'm' },
    });
    const { redactor } = buildNotifiers(cfg.receivers, { env: { HR_TEST_SMTP_PW: 'env-password-456' } });
    expect(redactor.redact('x env-password-456 y file-token-123 z')).toBe('x [REDACTED] y [REDACTED] z');
    expect(() => buildNotifiers(cfg.receivers, { env: {} })).toThrow(
      /HR_ALERT_SECRET .*passwordEnv: environment variable HR_TEST_SMTP_PW is not set/,
    );
    // Every receiver's missing secret at once, not the first one's alone.
    rmSync(join(dir, 'token'));
    let err: unknown;
    try {
      buildNotifiers(cfg.receivers, { env: {} });
    } catch (e) {
      err = e;
    }
    expect((err as HeadroomError).problems.map((p) => p.path)).toEqual([
      'alerts.receivers[0].email.passwordEnv',
      'alerts.receivers[1].webhook.tokenFile',
    ]);
  });

  it('loads a YAML file: spec keys beside alerts: are ignored; parse errors name line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-alerts-'));
    const ok = join(dir, 'ok.yaml');
    writeFileSync(
      ok,
      'services: []\nalerts:\n  rules:\n    - name: Hot\n      expr: "service.cpuUtilization >= 75%"\n',
    );
    expect(loadAlertConfig(ok).rules.at(-1)).toMatchObject({ name: 'Hot', op: '>=', threshold: 0.75 });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'alerts:\n  rules: [\n');
    expect(() => loadAlertConfig(bad)).toThrow(/HR_SPEC_PARSE .*bad\.yaml:\d+:\d+: /);
    const none = join(dir, 'none.yaml');
    writeFileSync(none, 'services: []\n');
    expect(() => loadAlertConfig(none)).toThrow(/HR_ALERT_RULE_INVALID .*no top-level alerts/);
    expect(() => loadAlertConfig(join(dir, 'missing.yaml'))).toThrow(/HR_FILE_READ/);
  });

  it('the shipped example parses', () => {
    const cfg = loadAlertConfig(new URL('../../examples/alerts.yaml', import.meta.url).pathname);
    expect(cfg.receivers.length).toBeGreaterThanOrEqual(4);
    expect(cfg.route?.routes.length).toBeGreaterThan(0);
  });
});
