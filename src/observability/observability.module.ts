import { Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { AppMetrics } from './app-metrics.service';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MqttModule } from '../mqtt/mqtt.module';
import { MetricsModule } from '../metrics/metrics.module';
import { IngestStatsModule } from '../ingestion/ingest-stats.module';

/** /health and /metrics: what operators and their monitoring read. */
@Module({
  imports: [ConcentratorsModule, MqttModule, MetricsModule, IngestStatsModule],
  controllers: [HealthController, MetricsController],
  providers: [AppMetrics],
})
export class ObservabilityModule {}
