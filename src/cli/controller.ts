// `headroom controller` (the composition root of cluster mode): run the Kubernetes controller from a
// kubeconfig (development) or in-cluster.
import type { Command } from 'commander';
import pino from 'pino';
import { HeadroomError } from '../core/errors.ts';
import { listenError } from '../server/listen-error.ts';
import { PrometheusSource } from '../adapters/metrics/prometheus/index.ts';
import { loadKubeConfig, makeClients } from '../adapters/kubernetes/client.ts';
import { Controller } from '../controller/controller.ts';
import { shadowTotals, type ShadowRow } from '../controller/shadow.ts';
import { formatMoney, formatMoneyDelta } from '../core/cost.ts';
import { renderTable } from './table.ts';
import { applicationCrdYaml } from '../controller/application-crd.ts';
import { crdYaml } from '../controller/crd.ts';
import { serveController } from '../controller/server.ts';
import { loadAlertConfig, parseAlertConfig } from '../alerting/config.ts';
import { createAlerting } from '../alerting/runtime.ts';
import { buildNotifiers } from '../adapters/notifiers/index.ts';
import { isLoopbackHost, resolveToken, TOKEN_ENV } from '../server/dashboard/auth.ts';
import { parseNumberFlag, prometheusUrlFlag } from './flags.ts';

/**
 * Defaults chosen so nothing collides on one machine: `headroom run` listens on 8080 (balancer) and
 * 9470 (status), Prometheus on its own 9090, and the controller's server on 9471
 * (test/cli/ports.test.ts checks these against run's defaults).
 */
export const CONTROLLER_METRICS_PORT = 9471;
export const DEFAULT_PROMETHEUS_URL = 'http://127.0.0.1:9090';

interface Options {
  kubeconfig?: string;
  namespace?: string;
  prometheus: string;
  metricsPort: string;
  metricsHost?: string;
  leaderElect?: boolean;
  leaseNamespace?: string;
  leaseName: string;
  leaseDuration: string;
  concurrency: string;
  logLevel: string;
  printCrd?: boolean;
  alerts?: string;
  token?: string;
  dashboard: boolean;
  shadow?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('controller')
    .description('run the Kubernetes controller: size HeadroomPolicy targets from Prometheus demand')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--namespace <ns>', 'watch only this namespace (default: all namespaces)')
    .option(
      '--prometheus <url>',
      `Prometheus base URL (default: $PROMETHEUS_URL or ${DEFAULT_PROMETHEUS_URL}, Prometheus's own port)`,
      process.env.PROMETHEUS_URL ?? DEFAULT_PROMETHEUS_URL,
    )
    .option(
      '--metrics-port <n>',
      `port for /metrics, /healthz, /readyz, /api/status, dashboard (default ${CONTROLLER_METRICS_PORT}; 0 = any)`,
      String(CONTROLLER_METRICS_PORT),
    )
    .option('--metrics-host <addr>', 'address for those endpoints (default: 0.0.0.0 in a pod, else 127.0.0.1)')
    .option('--token <token>', `token for /api/status and the dashboard (default: $${TOKEN_ENV}); needed off loopback`)
    .option('--no-dashboard', 'serve only /metrics, /healthz, /readyz (no /api/status, no dashboard)')
    .option('--alerts <file>', 'YAML with an alerts: section (rules, receivers, route); default: built-in rules')
    .option('--leader-elect', 'elect one active instance with a coordination.k8s.io Lease')
    .option('--lease-namespace <ns>', 'namespace of the Lease (default: --namespace, $POD_NAMESPACE or default)')
    .option('--lease-name <name>', 'name of the Lease', 'headroom-controller')
    .option('--lease-duration <s>', 'lease duration, seconds (renew deadline 2/3 of it, retry 2/15)', '15')
    .option('--concurrency <n>', 'policies reconciled at once', '32')
    .option('--log-level <level>', 'fatal, error, warn, info, debug', 'info')
    .option('--print-crd', 'print the HeadroomPolicy and HeadroomApplication CustomResourceDefinitions (YAML) and exit')
    .option(
      '--shadow',
      'one dry run over every policy: per target the count Headroom recommends and the money difference; writes nothing, then exits',
    )
    .option('--json', 'with --shadow: print the report as JSON')
    .action(async (opts: Options) => {
      if (opts.printCrd) {
        process.stdout.write(`${crdYaml()}---\n${applicationCrdYaml()}`);
        return;
      }
      await runController(opts);
    });
}

function intFlag(name: string, value: string, min: number, max: number): number {
  return parseNumberFlag(name, value, { min, max, int: true });
}

async function runController(opts: Options): Promise<void> {
  const port = intFlag('--metrics-port', opts.metricsPort, 0, 65535);
  const concurrency = intFlag('--concurrency', opts.concurrency, 1, 1000);
  const lease = intFlag('--lease-duration', opts.leaseDuration, 3, 3600);
  prometheusUrlFlag(opts.prometheus);
  const log = pino({ level: opts.logLevel, base: { component: 'headroom-controller' } });
  // Loopback for development; all interfaces in a pod, where the kubelet probes the pod IP.
  const host = opts.metricsHost ?? (process.env.KUBERNETES_SERVICE_HOST ? '0.0.0.0' : '127.0.0.1');
  // Checked before anything starts, so a bad file, secret or token leaves nothing half-started.
  // Off loopback without a token, the dashboard stays off (the probes must keep working in a pod
  // that has no token Secret); a token that is given but too short is an error.
  const given = opts.token ?? (process.env[TOKEN_ENV] || undefined);
  const dashboardOn = opts.dashboard && (given !== undefined || isLoopbackHost(host));
  const token = dashboardOn ? resolveToken(host, opts.token, { flag: '--token', env: process.env }) : undefined;
  if (opts.dashboard && !dashboardOn) {
    log.warn(
      { host, flag: '--token', env: TOKEN_ENV },
      `dashboard and /api/status off: listening on ${host} (not loopback) needs a token (--token or ${TOKEN_ENV})`,
    );
  }
  const alertConfig = opts.alerts ? loadAlertConfig(opts.alerts) : parseAlertConfig(undefined);
  // The link put in notifications; unknown before listening when the port is 0.
  const statusUrl = `http://${isLoopbackHost(host) ? '127.0.0.1' : host}:${port}/api/status`;
  const { notifiers, redactor } = buildNotifiers(
    alertConfig.receivers,
    dashboardOn && port !== 0 ? { externalURL: statusUrl } : {},
  );
  let kc;
  try {
    kc = loadKubeConfig(opts.kubeconfig);
    if (!kc.getCurrentCluster()) throw new Error('no current cluster in it');
  } catch (err) {
    throw new HeadroomError({
      code: 'HR_USAGE',
      path: '--kubeconfig',
      value: opts.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config',
      message: `cannot load a kubeconfig: ${err instanceof Error ? err.message : String(err)}`,
      allowed: 'a readable kubeconfig file, or run in a pod with a service account',
    });
  }
  const clients = makeClients(kc);
  if (opts.shadow) {
    // The report is stdout; the log goes to stderr.
    const errLog = pino({ level: opts.logLevel, base: { component: 'headroom-controller' } }, pino.destination(2));
    await shadowReport(clients, opts, concurrency, errLog);
    return;
  }
  const alerting = createAlerting(alertConfig, { notifiers, redactor, logger: log });
  const metrics = new PrometheusSource({ url: opts.prometheus });
  const controller = new Controller({
    clients,
    metrics,
    history: metrics,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    leaderElection: opts.leaderElect
      ? {
          namespace: opts.leaseNamespace ?? opts.namespace ?? process.env.POD_NAMESPACE ?? 'default',
          name: opts.leaseName,
          leaseDurationSeconds: lease,
          renewDeadlineSeconds: Math.max(2, Math.floor((lease * 2) / 3)),
          retryPeriodSeconds: Math.max(1, Math.floor((lease * 2) / 15)),
        }
      : false,
    concurrency,
    alerting,
    log,
  });
  let server;
  try {
    server = await serveController(controller, {
      port,
      host,
      status: dashboardOn,
      token,
      alerts: () => alerting.status(),
    });
  } catch (err) {
    await alerting.close();
    const at = { what: 'the metrics and status server', host, port };
    throw listenError(err, { ...at, portKey: '--metrics-port', hostKey: '--metrics-host' }) ?? err;
  }
  log.info(
    {
      port: server.port,
      dashboard: dashboardOn ? `${server.url}/` : false,
      alertRules: alertConfig.rules.length,
      receivers: alertConfig.receivers.length,
      server: kc.getCurrentCluster()?.server,
      prometheus: opts.prometheus,
      identity: controller.identity,
    },
    'controller starting',
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight reconciles, releasing the lease');
    void controller
      .stop()
      .then(() => metrics.close())
      .finally(() => {
        void server.close();
        log.info('stopped');
        // Idle keep-alive sockets (apiserver, Prometheus) would hold the process for seconds more.
        log.flush(() => process.exit(0));
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await controller.start();
  log.info({ policies: controller.policies().length }, 'watching HeadroomPolicies');
}

/** `--shadow`: list the policies, run one round that writes nothing, print the report (shadow.ts). */
async function shadowReport(
  clients: ReturnType<typeof makeClients>,
  opts: Options,
  concurrency: number,
  log: pino.Logger,
): Promise<void> {
  const metrics = new PrometheusSource({ url: opts.prometheus });
  const controller = new Controller({
    clients,
    metrics,
    history: metrics,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    manual: true,
    dryRun: true,
    concurrency,
    log,
  });
  try {
    await controller.start();
    const rows = await controller.shadowRound();
    const totals = shadowTotals(rows);
    if (opts.json) process.stdout.write(`${JSON.stringify({ targets: rows, totals }, null, 2)}\n`);
    else process.stdout.write(`${renderShadow(rows, totals)}\n`);
  } finally {
    await controller.stop();
    await metrics.close();
  }
}

function renderShadow(rows: readonly ShadowRow[], totals: ReturnType<typeof shadowTotals>): string {
  const money = (x: number | undefined, c: string | undefined): string =>
    x === undefined || c === undefined ? '' : formatMoney(x, c);
  const table = renderTable(
    [
      'namespace',
      'policy',
      'target',
      'mode',
      'now',
      'recommends',
      'this round',
      'binding',
      'now / month',
      'recommended / month',
      'difference',
      'why',
    ],
    rows.map((r) => [
      r.namespace,
      r.policy,
      r.target,
      r.mode,
      r.current === undefined ? '?' : String(r.current),
      r.recommended === undefined ? '—' : String(r.recommended),
      r.wouldSet === undefined ? '—' : String(r.wouldSet),
      r.binding ?? '',
      money(r.money?.now, r.money?.currency),
      money(r.money?.wouldBe, r.money?.currency),
      r.money?.difference === undefined ? '' : formatMoneyDelta(r.money.difference, r.money.currency),
      r.reason,
    ]),
  );
  const decided = rows.filter((r) => r.recommended !== undefined).length;
  const lines = [
    `shadow: ${rows.length} ${rows.length === 1 ? 'policy' : 'policies'}, ${decided} decided; nothing was written`,
    table,
  ];
  // A table cell cannot hold them: one line per warning, named by its policy.
  for (const r of rows) for (const w of r.warnings ?? []) lines.push(`warning: ${r.namespace}/${r.policy}: ${w}`);
  for (const t of totals)
    lines.push(
      `${t.targets} priced ${t.targets === 1 ? 'target' : 'targets'}: ${formatMoney(t.now, t.currency)} a month now, ${formatMoney(t.wouldBe, t.currency)} at Headroom's recommendation (${formatMoneyDelta(t.difference, t.currency)})`,
    );
  return lines.join('\n');
}
