import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CommandsModule } from '../commands/commands.module';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { Concentrator } from '../concentrators/entities/concentrator.entity';
import { DesiredStateController } from './desired-state.controller';
import { DesiredState } from './desired-state.entity';
import { DesiredStateService } from './desired-state.service';
import { AuditModule } from '../audit/audit.module';
import { IngestionModule } from '../ingestion/ingestion.module';

@Module({
  imports: [
    TypeOrmModule.forFeature([Concentrator, DesiredState]),
    ConcentratorsModule,
    CommandsModule,

    AuditModule,
    IngestionModule,
  ],
  controllers: [DesiredStateController],
  providers: [DesiredStateService],
  exports: [DesiredStateService],
})
export class DesiredStateModule {}
