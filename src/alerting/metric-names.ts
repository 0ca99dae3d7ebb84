// Prometheus metric names Headroom exports on /metrics (local mode and controller) and that the
// exported alerting rules query. One place, so the /metrics code and the rules cannot drift apart.
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
