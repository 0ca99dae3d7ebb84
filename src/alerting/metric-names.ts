// Every Prometheus metric name Headroom exports on /metrics (local mode and controller), and the
// ones the exported alerting rules query. One place, so the /metrics code and the rules cannot
// drift apart: src/server/prometheus.ts, src/server/alert-metrics.ts and the controller register
// only names from here, and test/alerting/metric-names.test.ts checks that every name an exported
// rule queries is registered by both exporters.
//
// The first block is what the rules query (src/server/alert-metrics.ts sets it from the same
// ServiceSnapshot the built-in engine evaluates, so Prometheus and Headroom see the same values).
// Labels: every service metric has `service`; instance metrics also `instance`.

/** Gauge 0..1: CPU used / request per instance. Labels: service, instance. */
export const INSTANCE_CPU_UTILIZATION = 'headroom_instance_cpu_utilization';
/** Gauge 0..1: memory used / limit per instance. Labels: service, instance. */
export const INSTANCE_MEMORY_UTILIZATION = 'headroom_instance_memory_utilization';
/** Counter: restarts of an instance. Labels: service, instance. */
export const INSTANCE_RESTARTS_TOTAL = 'headroom_instance_restarts_total';

/** Gauges: replica counts. Label: service. */
export const SERVICE_REPLICAS_DESIRED = 'headroom_service_replicas_desired';
export const SERVICE_REPLICAS_CURRENT = 'headroom_service_replicas_current';
export const SERVICE_REPLICAS_READY = 'headroom_service_replicas_ready';
export const SERVICE_REPLICAS_MIN = 'headroom_service_replicas_min';
export const SERVICE_REPLICAS_MAX = 'headroom_service_replicas_max';
/** Gauge: instances the model needs before the max bound. */
export const SERVICE_REPLICAS_NEEDED = 'headroom_service_replicas_needed';
/** Gauge 1/0: the cluster can place the needed instances. */
export const SERVICE_FITS = 'headroom_service_fits';
/** Gauge: observed demand, requests per second. */
export const SERVICE_DEMAND_RPS = 'headroom_service_demand_rps';
/** Gauge: demand trend, rps per second (positive = growing). */
export const SERVICE_DEMAND_TREND = 'headroom_service_demand_trend_rps_per_second';
/** Gauge: measured latency, seconds. Labels: service, quantile ("0.99"). */
export const SERVICE_LATENCY_SECONDS = 'headroom_service_latency_seconds';
/** Gauge: the latency SLO, seconds. Labels: service, quantile (the SLO percentile / 100). */
export const SERVICE_SLO_LATENCY_SECONDS = 'headroom_service_slo_latency_seconds';
/** Gauge: the SLO objective as a fraction, e.g. 0.99 for p99 (error budget = 1 − objective). */
export const SERVICE_SLO_OBJECTIVE = 'headroom_service_slo_objective';
/** Counters: requests, failed requests, requests that broke the SLO (slow or failed). */
export const SERVICE_REQUESTS_TOTAL = 'headroom_service_requests_total';
export const SERVICE_ERRORS_TOTAL = 'headroom_service_errors_total';
export const SERVICE_SLO_BAD_REQUESTS_TOTAL = 'headroom_service_slo_bad_requests_total';
/** Gauge 0..1: failed / all requests over the last tick (the engine's errorRate). */
export const SERVICE_ERROR_RATIO = 'headroom_service_error_ratio';

/** Gauge: the latency model against measurement at the SLO percentile, seconds. Labels: service, kind
 *  (predicted = the spec's model, calibrated, measured). */
export const MODEL_LATENCY_SECONDS = 'headroom_model_latency_seconds';
/** Gauge ≥ 1: measured ÷ predicted (or its inverse), smoothed: how far the model is off. */
export const MODEL_ERROR_FACTOR = 'headroom_model_error_factor';
/** Gauge: the service-time scale calibration applies (1 = the spec). */
export const MODEL_SERVICE_TIME_SCALE = 'headroom_model_service_time_scale';

/** Alerting's own health. Counter: notifications dropped because the retry queue was full. Label: receiver. */
export const ALERT_NOTIFICATIONS_DROPPED_TOTAL = 'headroom_alert_notifications_dropped_total';
/** Counter: notifications sent / failed attempts. Label: receiver. */
export const ALERT_NOTIFICATIONS_SENT_TOTAL = 'headroom_alert_notifications_sent_total';
export const ALERT_NOTIFICATIONS_FAILED_TOTAL = 'headroom_alert_notifications_failed_total';
/** Gauge: notifications waiting to be sent or retried. */
export const ALERT_QUEUE_LENGTH = 'headroom_alert_queue_length';
/** Gauge: alerts by state. Labels: alertname, severity, state (pending|firing). */
export const ALERTS = 'headroom_alerts';

// The other series of `headroom run`'s /metrics (src/server/prometheus.ts), for dashboards. Label:
// service (a registry per service).
/** Counter: requests through the load balancer. Label: code (2xx, 4xx, 5xx, none). */
export const REQUESTS_TOTAL = 'headroom_requests_total';
/** Histogram: latency through the load balancer, seconds. */
export const REQUEST_DURATION_SECONDS = 'headroom_request_duration_seconds';
export const INFLIGHT_REQUESTS = 'headroom_inflight_requests';
/** Gauge: of those, waiting at the balancer for a free instance slot (run.queue: balancer). */
export const QUEUED_REQUESTS = 'headroom_queued_requests';
/** Gauges over a window (label window: stable, burst). */
export const DEMAND_RPS = 'headroom_demand_rps';
export const CONCURRENCY = 'headroom_concurrency';
/** Gauge: latency percentile over the stable window, ms. Label: quantile. */
export const LATENCY_MS = 'headroom_latency_ms';
/** Gauge: instance counts. Label: kind (desired, current, ready, min, max, fit). */
export const REPLICAS = 'headroom_replicas';
/** Gauge: instances by state. Label: state. */
export const INSTANCES = 'headroom_instances';
export const RECOMMENDED_REPLICAS = 'headroom_recommended_replicas';
export const DECISION_VALID = 'headroom_decision_valid';
export const PREDICTED_UTILIZATION = 'headroom_predicted_utilization';
export const SHADOW = 'headroom_shadow';
/** Gauges per instance (label instance): CPU cores, resident bytes, restarts. */
export const INSTANCE_CPU_CORES = 'headroom_instance_cpu_cores';
export const INSTANCE_MEMORY_BYTES = 'headroom_instance_memory_bytes';
export const INSTANCE_RESTARTS = 'headroom_instance_restarts';
export const HOST_CORES = 'headroom_host_cores';
export const HOST_MEMORY_BYTES = 'headroom_host_memory_bytes';

// The controller's own series (src/controller/controller.ts). Policy gauges: labels namespace, policy.
export const CONTROLLER_RECONCILES_TOTAL = 'headroom_controller_reconciles_total';
export const CONTROLLER_RECONCILE_DURATION_SECONDS = 'headroom_controller_reconcile_duration_seconds';
export const CONTROLLER_SCALE_WRITES_TOTAL = 'headroom_controller_scale_writes_total';
export const CONTROLLER_EXTERNAL_WRITES_TOTAL = 'headroom_controller_external_writes_total';
export const CONTROLLER_METRIC_FAILURES_TOTAL = 'headroom_controller_metric_failures_total';
export const POLICY_DESIRED_REPLICAS = 'headroom_policy_desired_replicas';
export const POLICY_CURRENT_REPLICAS = 'headroom_policy_current_replicas';
export const POLICY_DEMAND_RPS = 'headroom_policy_demand_rps';
/** Counter: Kubernetes API requests sent since start (renamed from the gauge headroom_controller_api_requests). */
export const CONTROLLER_API_REQUESTS_TOTAL = 'headroom_controller_api_requests_total';
export const CONTROLLER_LEADER = 'headroom_controller_leader';
