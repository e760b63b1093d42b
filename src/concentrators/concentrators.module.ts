import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CredentialsModule } from '../credentials/credentials.module';
import { JobsModule } from '../jobs/jobs.module';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { ConcentratorsController } from './concentrators.controller';
import { HistoryController } from './history.controller';
import { ConcentratorConfigService } from './concentrator-config.service';
import { ConcentratorsService } from './concentrators.service';
import { LineNamesService } from './line-names.service';
import { DeviceHistory } from './device-history.service';
import { ConcentratorRegistry } from './concentrator-registry.service';
import { LineName } from './entities/line-name.entity';
import { Concentrator } from './entities/concentrator.entity';
import { DeviceEvent } from './entities/device-event.entity';
import { AuditModule } from '../audit/audit.module';
import { LiveModule } from '../live/live.module';

/** The registry: concentrators, their line names and their history. */
@Module({
  imports: [
    TypeOrmModule.forFeature([Concentrator, LineName, DeviceEvent]),
    LifecycleModule,
    JobsModule,
    CredentialsModule,
    AuditModule,
    LiveModule,
  ],
  controllers: [ConcentratorsController, HistoryController],
  providers: [
    ConcentratorsService,
    ConcentratorConfigService,
    LineNamesService,
    ConcentratorRegistry,
    DeviceHistory,
  ],
  exports: [
    ConcentratorsService,
    ConcentratorConfigService,
    LineNamesService,
    ConcentratorRegistry,
    DeviceHistory,
    LifecycleModule,
  ],
})
export class ConcentratorsModule {}
