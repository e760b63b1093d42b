import { Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { AppMetrics } from './app-metrics.service';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

/** /health and /metrics: what operators and their monitoring read. */
@Module({
  imports: [ConcentratorsModule],
  controllers: [HealthController, MetricsController],
  providers: [AppMetrics],
})
export class ObservabilityModule {}
