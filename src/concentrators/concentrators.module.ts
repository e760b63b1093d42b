import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConcentratorsController } from './concentrators.controller';
import { ConcentratorsService } from './concentrators.service';
import { DeviceHistory } from './device-history.service';
import { ConcentratorRegistry } from './concentrator-registry.service';
import { ConcentratorLine } from './entities/concentrator-line.entity';
import { Concentrator } from './entities/concentrator.entity';
import { DeviceEvent } from './entities/device-event.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Concentrator, ConcentratorLine, DeviceEvent])],
  controllers: [ConcentratorsController],
  providers: [ConcentratorsService, ConcentratorRegistry, DeviceHistory],
  exports: [ConcentratorsService, ConcentratorRegistry, DeviceHistory],
})
export class ConcentratorsModule {}
