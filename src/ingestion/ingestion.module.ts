import { Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { RejectionsModule } from './rejections.module';
import { IngestionService } from './ingestion.service';
import { MqttModule } from '../mqtt/mqtt.module';
import { IngestStatsModule } from './ingest-stats.module';

@Module({
  imports: [ConcentratorsModule, RejectionsModule, MqttModule, IngestStatsModule],
  providers: [IngestionService],
  exports: [IngestionService],
})
export class IngestionModule {}
