import { Global, Module } from '@nestjs/common';
import { createRegistry, METRICS_REGISTRY } from './metrics-registry';
import { SecurityMetrics } from './security-metrics.service';

/** Prometheus metrics; global so any module can inject SecurityMetrics. */
@Global()
@Module({
  providers: [{ provide: METRICS_REGISTRY, useFactory: createRegistry }, SecurityMetrics],
  exports: [METRICS_REGISTRY, SecurityMetrics],
})
export class MetricsModule {}
