import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { RejectionsModule } from '../ingestion/rejections.module';
import { Command } from './command.entity';
import { CommandsController } from './commands.controller';
import { CommandsService } from './commands.service';
import { ConcentratorCommandsController } from './concentrator-commands.controller';
import { SwitchService } from './switch.service';

@Module({
  imports: [TypeOrmModule.forFeature([Command]), ConcentratorsModule, RejectionsModule],
  controllers: [CommandsController, ConcentratorCommandsController],
  providers: [CommandsService, SwitchService],
  exports: [CommandsService],
})
export class CommandsModule {}
