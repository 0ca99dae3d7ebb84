// An in-process controller for e2e tests: real clients against the test's apiserver, a real
// Prometheus, a fast tick and short retries; with `lease`, leader election on a short Lease.
import type { KubeConfig } from '@kubernetes/client-node';
import { makeClients } from '../../../src/adapters/kubernetes/client.ts';
import { PrometheusSource } from '../../../src/adapters/metrics/prometheus/index.ts';
import { Controller, type ControllerOptions } from '../../../src/controller/controller.ts';
import { GROUP, VERSION } from '../../../src/controller/crd.ts';

export function testController(
  kc: KubeConfig,
  prometheusUrl: string,
  namespace: string,
  lease?: string,
  over: Partial<ControllerOptions> = {},
): Controller {
  const prometheus = new PrometheusSource({ url: prometheusUrl, timeoutMs: 2000 });
  return new Controller({
    clients: makeClients(kc),
    // As `headroom controller` wires it: one source for the rounds' readings and a new policy's past.
    metrics: prometheus,
    history: prometheus,
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
    ...over,
  });
}

/**
 * A HeadroomPolicy the e2e tests share: 40 ms per request, one at a time, utilization 0.5 → 12.5
 * rps per instance (vector(30) → 3, vector(60) → 5); a round a second, no forecast.
 */
export function e2ePolicy(
  namespace: string,
  name: string,
  target: string,
  demand: Record<string, unknown>,
  service: Record<string, unknown> = {},
) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'HeadroomPolicy',
    metadata: { name, namespace },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      intervalSeconds: 1,
      service: {
        instance: { serviceTimeMs: 40, concurrency: 1 },
        targetUtilization: 0.5,
        replicas: { min: 1, max: 10 },
        behavior: { forecast: { enabled: false } },
        ...service,
      },
      demand,
    },
  };
}
