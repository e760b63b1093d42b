import { Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { RejectionsModule } from './rejections.module';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';
import { MqttModule } from '../mqtt/mqtt.module';
import { IngestStatsModule } from './ingest-stats.module';

@Module({
  imports: [ConcentratorsModule, RejectionsModule, MqttModule, IngestStatsModule],
  controllers: [IngestionController],
  providers: [IngestionService],
  exports: [IngestionService],
})
export class IngestionModule {}
