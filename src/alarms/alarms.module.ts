import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DevicesModule } from '../devices/devices.module';
import { DeviceEvent } from '../devices/entities/device-event.entity';
import { IngestionModule } from '../ingestion/ingestion.module';
import { Alarm } from './alarm.entity';
import { AlarmsIngestHandlers } from './alarms-ingest.handlers';
import { AlarmsController } from './alarms.controller';
import { AlarmsService } from './alarms.service';
import { DeviceEventsController } from './device-events.controller';

/** Protection alarms, switch-change history and the per-concentrator event list. */
@Module({
  imports: [TypeOrmModule.forFeature([Alarm, DeviceEvent]), DevicesModule, IngestionModule],
  controllers: [AlarmsController, DeviceEventsController],
  providers: [AlarmsService, AlarmsIngestHandlers],
  exports: [AlarmsService],
})
export class AlarmsModule {}
