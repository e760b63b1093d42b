import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DevicesModule } from '../devices/devices.module';
import { RejectionsModule } from '../rejections/rejections.module';
import { Command } from './command.entity';
import { CommandsService } from './commands.service';

@Module({
  imports: [TypeOrmModule.forFeature([Command]), DevicesModule, RejectionsModule],
  providers: [CommandsService],
  exports: [CommandsService],
})
export class CommandsModule {}
