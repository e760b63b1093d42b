import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CommandsModule } from '../commands/commands.module';
import { DevicesModule } from '../devices/devices.module';
import { Concentrator } from '../devices/entities/concentrator.entity';
import { DesiredStateController } from './desired-state.controller';
import { DesiredState } from './desired-state.entity';
import { DesiredStateService } from './desired-state.service';

@Module({
  imports: [TypeOrmModule.forFeature([Concentrator, DesiredState]), DevicesModule, CommandsModule],
  controllers: [DesiredStateController],
  providers: [DesiredStateService],
  exports: [DesiredStateService],
})
export class DesiredStateModule {}
