import { Global, Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { RejectionsModule } from './rejections.module';
import { IngestStats } from './ingest-stats';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';

@Global()
@Module({
  imports: [ConcentratorsModule, RejectionsModule],
  controllers: [IngestionController],
  providers: [IngestionService],
  exports: [IngestionService],
})
export class IngestionModule {}

/** Counters shared by ingestion, rejections, health and metrics. */
@Global()
@Module({ providers: [IngestStats], exports: [IngestStats] })
export class IngestStatsModule {}
