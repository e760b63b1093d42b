import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DevicesModule } from '../devices/devices.module';
import { Concentrator } from '../devices/entities/concentrator.entity';
import { DesiredStateService } from './desired-state.service';

@Module({
  imports: [TypeOrmModule.forFeature([Concentrator]), DevicesModule],
  providers: [DesiredStateService],
  exports: [DesiredStateService],
})
export class DesiredStateModule {}
