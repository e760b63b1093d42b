import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { IngestionModule } from '../ingestion/ingestion.module';
import { JobsModule } from '../jobs/jobs.module';
import { Alarm } from './alarm.entity';
import { AlarmsIngestHandlers } from './alarms.ingest-handlers';
import { AlarmsController } from './alarms.controller';
import { AlarmsService } from './alarms.service';
import { AuditModule } from '../audit/audit.module';
import { LiveModule } from '../live/live.module';

/** Protection alarms, and switch changes with their cause as history. */
@Module({
  imports: [
    TypeOrmModule.forFeature([Alarm]),
    ConcentratorsModule,
    IngestionModule,
    JobsModule,
    AuditModule,
    LiveModule,
  ],
  controllers: [AlarmsController],
  providers: [AlarmsService, AlarmsIngestHandlers],
  exports: [AlarmsService],
})
export class AlarmsModule {}
