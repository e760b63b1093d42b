import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CommandsModule } from '../commands/commands.module';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { FirmwareModule } from '../firmware/firmware.module';
import { IngestionModule } from '../ingestion/ingestion.module';
import { JobsModule } from '../jobs/jobs.module';
import { UpgradeCampaign } from './entities/upgrade-campaign.entity';
import { UpgradeTarget } from './entities/upgrade-target.entity';
import { UpgradeProgress } from './upgrade-progress.ingest-handlers';
import { UpgradeRunner } from './upgrade-runner.service';
import { UpgradeStore } from './upgrade-store';
import { UpgradesController } from './upgrades.controller';
import { UpgradesService } from './upgrades.service';
import { AuditModule } from '../audit/audit.module';
import { LiveModule } from '../live/live.module';

@Module({
  imports: [
    TypeOrmModule.forFeature([UpgradeCampaign, UpgradeTarget]),
    CommandsModule,
    ConcentratorsModule,
    FirmwareModule,
    IngestionModule,
    JobsModule,
    AuditModule,
    LiveModule,
  ],
  controllers: [UpgradesController],
  providers: [UpgradeStore, UpgradeRunner, UpgradeProgress, UpgradesService],
})
export class UpgradesModule {}
