import type { Metrics } from '../../shared/metrics.js';

/** janitor's Prometheus metrics. `dry_run` tells real deletions from planned ones. */
export function janitorMetrics(metrics: Metrics) {
  return {
    appsCleaned: metrics.counter('janitor_apps_cleaned_total', 'Apps whose due objects janitor deleted (or would have, in a dry run).', ['state', 'dry_run']),
    objectsDeleted: metrics.counter('janitor_objects_deleted_total', 'Objects janitor deleted (or would have, in a dry run), per kind.', ['kind', 'dry_run']),
    apiCalls: metrics.counter('janitor_api_calls_total', 'Kubernetes API calls janitor made, per verb and resource.', ['verb', 'resource']),
    errors: metrics.counter('janitor_errors_total', 'Failures janitor reported and went on past: list, delete, audit.', ['stage']),
  };
}
