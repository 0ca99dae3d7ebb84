import { describe, expect, it } from 'vitest';
import { humanize, humanizeDuration, renderTemplate, templateProblems } from '../../src/alerting/template.ts';

const data = { labels: { service: 'checkout', instance: 'c-1' }, value: 0.91234, threshold: 0.9 };

describe('annotation templates (Prometheus subset)', () => {
  it.each([
    ['{{ $labels.service }}/{{ $labels.instance }}', 'checkout/c-1'],
    ['{{ $value }}', '0.91234'],
    ['{{ $value | humanizePercentage }}', '91.23%'],
    ['{{ $threshold | humanizePercentage }}', '90%'],
    ['{{ printf "%.2f" $value }}', '0.91'],
    ['{{ $value | printf "%.1f" }}', '0.9'],
    ['{{ .Labels.service }} {{ .Value | humanize }}', 'checkout 912.3m'],
    ['{{ $labels.missing }}x', 'x'],
    ['no template', 'no template'],
  ])('%s → %s', (t, want) => {
    expect(renderTemplate(t, data)).toBe(want);
  });

  it('humanize and humanizeDuration match Prometheus', () => {
    expect(humanize(1234)).toBe('1.234k');
    expect(humanize(2_500_000)).toBe('2.5M');
    expect(humanize(0.0123)).toBe('12.3m');
    expect(humanize(0)).toBe('0');
    expect(humanizeDuration(3725)).toBe('1h 2m 5s');
    expect(humanizeDuration(0.25)).toBe('250ms');
    expect(humanizeDuration(90061)).toBe('1d 1h 1m 1s');
  });

  it('reports what it cannot render', () => {
    expect(templateProblems('{{ $labels.service }} {{ $value | humanize }}')).toEqual([]);
    expect(templateProblems('{{ $nope }}')).toEqual(['unknown template variable "$nope"']);
    expect(templateProblems('{{ $value | shout }}')).toEqual(['unknown template function "shout"']);
  });
});
