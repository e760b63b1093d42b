import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { DeviceEvent } from '../concentrators/entities/device-event.entity';
import { IngestionModule } from '../ingestion/ingestion.module';
import { Alarm } from './alarm.entity';
import { AlarmsIngestHandlers } from './alarms-ingest.handlers';
import { AlarmsController } from './alarms.controller';
import { AlarmsService } from './alarms.service';
import { HistoryController } from '../concentrators/history.controller';

/** Protection alarms, switch-change history and the per-concentrator event list. */
@Module({
  imports: [TypeOrmModule.forFeature([Alarm, DeviceEvent]), ConcentratorsModule, IngestionModule],
  controllers: [AlarmsController, HistoryController],
  providers: [AlarmsService, AlarmsIngestHandlers],
  exports: [AlarmsService],
})
export class AlarmsModule {}
