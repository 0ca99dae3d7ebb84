// `headroom alerts export` writes the alert rules (built-in + --rules FILE) as Prometheus rules or a
// PrometheusRule; `headroom alerts check` validates a rules file and prints what it defines.
import { Option, type Command } from 'commander';
import { buildNotifiers } from '../adapters/notifiers/index.ts';
import { formatDuration, loadAlertConfig, parseAlertConfig, type AlertConfig } from '../alerting/config.ts';
import { exportYaml, toPrometheusRuleResource, toPrometheusRules } from '../alerting/export.ts';
import { HeadroomError } from '../core/errors.ts';

function load(file: string | undefined): AlertConfig {
  return file === undefined ? parseAlertConfig(undefined) : loadAlertConfig(file);
}

export function register(program: Command): void {
  const alerts = program.command('alerts').description('alert rules: export them for Prometheus, check a rules file');

  alerts
    .command('export')
    .description('print the alert rules (built-in and --rules FILE) as Prometheus alerting rules or a PrometheusRule')
    .addOption(
      new Option('--format <format>', 'output format').choices(['prometheus', 'prometheusrule']).default('prometheus'),
    )
    .option('--rules <file>', 'YAML file with a top-level alerts: section (a spec file works)')
    .option('--name <name>', 'PrometheusRule metadata.name', 'headroom-alerts')
    .option('--namespace <ns>', 'PrometheusRule metadata.namespace')
    .option('--group <name>', 'rule group name', 'headroom')
    .action((o: { format: string; rules?: string; name: string; namespace?: string; group: string }) => {
      if (o.format !== 'prometheusrule' && o.namespace !== undefined) {
        throw new HeadroomError({
          code: 'HR_USAGE',
          message: '--namespace only applies to --format prometheusrule',
          value: o.namespace,
        });
      }
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.name) || o.name.length > 253) {
        throw new HeadroomError({
          code: 'HR_USAGE',
          path: '--name',
          message: 'must be a Kubernetes object name',
          value: o.name,
          allowed: 'lower-case alphanumerics, "-" and ".", ≤ 253 characters',
        });
      }
      if (
        o.namespace !== undefined &&
        (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.namespace) || o.namespace.length > 63)
      ) {
        throw new HeadroomError({
          code: 'HR_USAGE',
          path: '--namespace',
          message: 'must be a Kubernetes namespace name',
          value: o.namespace,
          allowed: 'lower-case alphanumerics and "-", ≤ 63 characters (a DNS label)',
        });
      }
      const cfg = load(o.rules);
      const doc =
        o.format === 'prometheusrule'
          ? toPrometheusRuleResource(cfg.rules, {
              name: o.name,
              group: o.group,
              ...(o.namespace ? { namespace: o.namespace } : {}),
            })
          : toPrometheusRules(cfg.rules, o.group);
      process.stdout.write(exportYaml(doc));
    });

  alerts
    .command('check')
    .description('validate a rules file (alerts: rules, receivers, route) and list what it defines')
    .requiredOption('--rules <file>', 'YAML file with a top-level alerts: section')
    .option('--resolve-secrets', 'also read every passwordEnv/passwordFile/tokenEnv/... (values are not printed)')
    .action((o: { rules: string; resolveSecrets?: boolean }) => {
      const cfg = loadAlertConfig(o.rules);
      if (o.resolveSecrets) buildNotifiers(cfg.receivers);
      const out: string[] = [`ok ${o.rules}: ${cfg.rules.length} rules, ${cfg.receivers.length} receivers`];
      for (const r of cfg.rules) {
        const extra = [
          r.forSeconds ? `for ${formatDuration(r.forSeconds)}` : '',
          r.keepFiringForSeconds ? `keepFiringFor ${formatDuration(r.keepFiringForSeconds)}` : '',
          r.clearThreshold !== undefined ? `clears at ${r.clearThreshold}` : '',
        ]
          .filter(Boolean)
          .join(', ');
        out.push(
          `  ${r.severity.padEnd(8)} ${r.name}: ${r.metric} ${r.op} ${r.threshold}${extra ? ` (${extra})` : ''}`,
        );
      }
      for (const r of cfg.receivers) {
        const kind = r.email ? 'email' : r.webhook ? 'webhook' : r.slack ? 'slack' : 'alertmanager';
        out.push(`  receiver ${r.name}: ${kind}${r.sendResolved ? '' : ' (no resolved notices)'}`);
      }
      if (cfg.route) {
        const rt = cfg.route;
        out.push(
          `  route → ${rt.receiver}, group by ${rt.groupBy.join(', ')}, wait ${formatDuration(rt.groupWaitSeconds)}, interval ${formatDuration(rt.groupIntervalSeconds)}, repeat ${formatDuration(rt.repeatIntervalSeconds)}, ${rt.routes.length} sub-routes`,
        );
      }
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
