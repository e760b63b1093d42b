import { Global, Module } from '@nestjs/common';
import { AppMetrics } from './app-metrics.service';
import { MetricsController } from './metrics.controller';
import { createRegistry, METRICS_REGISTRY } from './metrics-registry';
import { SecurityMetrics } from './security-metrics.service';

/** Prometheus metrics at /metrics; global so any module can inject SecurityMetrics. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    { provide: METRICS_REGISTRY, useFactory: createRegistry },
    SecurityMetrics,
    AppMetrics,
  ],
  exports: [METRICS_REGISTRY, SecurityMetrics],
})
export class MetricsModule {}
