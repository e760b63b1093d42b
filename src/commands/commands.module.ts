import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { JobsModule } from '../jobs/jobs.module';
import { LiveModule } from '../live/live.module';
import { Command } from './command.entity';
import { CommandAcksIngestHandlers } from './command-acks.ingest-handlers';
import { CommandSettlement } from './command-settlement.service';
import { CommandStore } from './command-store';
import { CommandTimeouts } from './command-timeouts.service';
import { CommandsController } from './commands.controller';
import { CommandsService } from './commands.service';
import { ConcentratorCommandsController } from './concentrator-commands.controller';
import { SwitchService } from './switch.service';
import { AuditModule } from '../audit/audit.module';
import { MqttModule } from '../mqtt/mqtt.module';
import { IngestionModule } from '../ingestion/ingestion.module';

@Module({
  imports: [
    TypeOrmModule.forFeature([Command]),
    ConcentratorsModule,
    JobsModule,
    LiveModule,
    AuditModule,
    MqttModule,
    IngestionModule,
  ],
  controllers: [CommandsController, ConcentratorCommandsController],
  providers: [
    CommandStore,
    CommandSettlement,
    CommandTimeouts,
    CommandAcksIngestHandlers,
    CommandsService,
    SwitchService,
  ],
  exports: [CommandsService, CommandSettlement],
})
export class CommandsModule {}
