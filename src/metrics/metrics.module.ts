import { Module } from '@nestjs/common';
import { createRegistry, METRICS_REGISTRY } from './metrics-registry';
import { SecurityMetrics } from './security-metrics.service';

/**
 * The Prometheus registry (one per app) and the security counters several
 * modules increment. The /metrics endpoint and the gauges read from the
 * domain live in observability/.
 */
@Module({
  providers: [{ provide: METRICS_REGISTRY, useFactory: createRegistry }, SecurityMetrics],
  exports: [METRICS_REGISTRY, SecurityMetrics],
})
export class MetricsModule {}
