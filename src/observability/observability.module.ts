import { Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { AppMetrics } from './app-metrics.service';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { CommandsModule } from '../commands/commands.module';
import { MetricsController } from './metrics.controller';
import { MqttModule } from '../mqtt/mqtt.module';
import { MetricsModule } from '../metrics/metrics.module';
import { IngestStatsModule } from '../ingestion/ingest-stats.module';

/** /health and /metrics: what operators and their monitoring read. */
@Module({
  imports: [ConcentratorsModule, CommandsModule, MqttModule, MetricsModule, IngestStatsModule],
  controllers: [HealthController, MetricsController],
  providers: [AppMetrics, HealthService],
})
export class ObservabilityModule {}
