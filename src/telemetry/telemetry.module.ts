import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { IngestionModule } from '../ingestion/ingestion.module';
import { JobsModule } from '../jobs/jobs.module';
import { ConcentratorLine } from './concentrator-line.entity';
import { LatestStore } from './latest-store.service';
import { PartitionMaintenance } from './partition-maintenance.service';
import { TelemetryIngestHandlers } from './telemetry.ingest-handlers';
import { TelemetryQueryService } from './telemetry-query.service';
import { TelemetryWriter } from './telemetry-writer.service';
import { TelemetryController } from './telemetry.controller';
import { LiveModule } from '../live/live.module';
import { IngestStatsModule } from '../ingestion/ingest-stats.module';
import { TariffsModule } from '../tariffs/tariffs.module';

@Module({
  imports: [
    TypeOrmModule.forFeature([ConcentratorLine]),
    ConcentratorsModule,
    IngestionModule,
    JobsModule,
    LiveModule,
    IngestStatsModule,
    TariffsModule,
  ],
  controllers: [TelemetryController],
  providers: [
    TelemetryWriter,
    LatestStore,
    PartitionMaintenance,
    TelemetryIngestHandlers,
    TelemetryQueryService,
  ],
  exports: [TelemetryWriter, LatestStore],
})
export class TelemetryModule {}
