import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DevicesModule } from '../devices/devices.module';
import { RejectionsModule } from '../rejections/rejections.module';
import { AuditRefusalsInterceptor } from './audit-refusals.interceptor';
import { Command } from './command.entity';
import { CommandsController } from './commands.controller';
import { CommandsService } from './commands.service';
import { ConcentratorCommandsController } from './concentrator-commands.controller';
import { SwitchService } from './switch.service';

@Module({
  imports: [TypeOrmModule.forFeature([Command]), DevicesModule, RejectionsModule],
  controllers: [CommandsController, ConcentratorCommandsController],
  providers: [CommandsService, SwitchService, AuditRefusalsInterceptor],
  exports: [CommandsService, AuditRefusalsInterceptor],
})
export class CommandsModule {}
