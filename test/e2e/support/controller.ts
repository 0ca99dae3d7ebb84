// An in-process controller for e2e tests: real clients against the test's apiserver, a real
// Prometheus, a fast tick and short retries; with `lease`, leader election on a short Lease.
import type { KubeConfig } from '@kubernetes/client-node';
import { makeClients } from '../../../src/adapters/kubernetes/client.ts';
import { PrometheusSource } from '../../../src/adapters/metrics/prometheus/index.ts';
import { Controller } from '../../../src/controller/controller.ts';

export function testController(kc: KubeConfig, prometheusUrl: string, namespace: string, lease?: string): Controller {
  return new Controller({
    clients: makeClients(kc),
    metrics: new PrometheusSource({ url: prometheusUrl, timeoutMs: 2000 }),
    namespace,
    ...(lease
      ? {
          leaderElection: {
            namespace,
            name: lease,
            leaseDurationSeconds: 3,
            renewDeadlineSeconds: 2,
            retryPeriodSeconds: 0.5,
          },
        }
      : {}),
    tickMs: 250,
    retry: { attempts: 2, baseMs: 100 },
  });
}
