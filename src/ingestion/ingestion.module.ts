import { Global, Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { RejectionsModule } from '../rejections/rejections.module';
import { IngestStats } from './ingest-stats';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';

@Global()
@Module({
  imports: [DevicesModule, RejectionsModule],
  controllers: [IngestionController],
  providers: [IngestionService],
  exports: [IngestionService],
})
export class IngestionModule {}

/** Counters shared by ingestion, rejections, health and metrics. */
@Global()
@Module({ providers: [IngestStats], exports: [IngestStats] })
export class IngestStatsModule {}
