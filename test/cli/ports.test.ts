// Default ports never collide on one machine: `headroom run` (balancer, status server), the
// controller's own server, and Prometheus on its own 9090 (which the controller queries by default).
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { register } from '../../src/cli/controller.ts';
import { runSectionSchema } from '../../src/local/config.ts';

const PROMETHEUS_PORT = 9090;

function controllerDefaults(): { metricsPort: number; prometheusPort: number; help: string } {
  const program = new Command();
  register(program);
  const cmd = program.commands.find((c) => c.name() === 'controller');
  if (!cmd) throw new Error('no controller command');
  const opt = (long: string): unknown => cmd.options.find((o) => o.long === long)?.defaultValue;
  const url = new URL(String(opt('--prometheus')));
  return { metricsPort: Number(opt('--metrics-port')), prometheusPort: Number(url.port), help: cmd.helpInformation() };
}

describe('default ports', () => {
  const run = runSectionSchema.parse({ command: ['x'] });
  const saved = process.env.PROMETHEUS_URL;

  it("the controller's server differs from run's balancer and status ports and from Prometheus's", () => {
    const c = controllerDefaults();
    expect(c.metricsPort).toBeGreaterThan(0);
    expect([run.port, run.statusPort, PROMETHEUS_PORT]).not.toContain(c.metricsPort);
    expect(c.help).toContain(`default ${c.metricsPort}`);
  });

  it("the controller's Prometheus URL is Prometheus's own port, not one of run's", () => {
    delete process.env.PROMETHEUS_URL;
    try {
      const c = controllerDefaults();
      expect(c.prometheusPort).toBe(PROMETHEUS_PORT);
      expect([run.port, run.statusPort]).not.toContain(c.prometheusPort);
    } finally {
      if (saved !== undefined) process.env.PROMETHEUS_URL = saved;
    }
  });

  it("run's two servers differ from each other and from Prometheus's", () => {
    expect(run.port).not.toBe(run.statusPort);
    expect([run.port, run.statusPort]).not.toContain(PROMETHEUS_PORT);
  });
});
