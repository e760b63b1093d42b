import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CommandsModule } from '../commands/commands.module';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { DesiredStateController } from './desired-state.controller';
import { DesiredState } from './desired-state.entity';
import { DesiredStateIngestHandlers } from './desired-state.ingest-handlers';
import { DesiredStateService } from './desired-state.service';
import { DesiredStateStore } from './desired-state.store';
import { AuditModule } from '../audit/audit.module';
import { IngestionModule } from '../ingestion/ingestion.module';

@Module({
  imports: [
    TypeOrmModule.forFeature([DesiredState]),
    ConcentratorsModule,
    CommandsModule,
    AuditModule,
    IngestionModule,
  ],
  controllers: [DesiredStateController],
  providers: [DesiredStateService, DesiredStateStore, DesiredStateIngestHandlers],
  exports: [DesiredStateService],
})
export class DesiredStateModule {}
