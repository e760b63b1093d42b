import { Registry } from 'prom-client';

/**
 * One prom-client Registry per app instance (not prom-client's global one),
 * so several apps in one process (e2e tests) never clash on metric names.
 */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

export const METRIC_PREFIX = 'bcb_';

export function createRegistry(): Registry {
  return new Registry();
}
