import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CommandsModule } from '../commands/commands.module';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { Concentrator } from '../concentrators/entities/concentrator.entity';
import { FirmwareModule } from '../firmware/firmware.module';
import { IngestionModule } from '../ingestion/ingestion.module';
import { UpgradeCampaign } from './entities/upgrade-campaign.entity';
import { UpgradeTarget } from './entities/upgrade-target.entity';
import { UpgradeProgress } from './upgrade-progress.service';
import { UpgradeRunner } from './upgrade-runner.service';
import { UpgradeTargetStore } from './upgrade-target-store';
import { UpgradesController } from './upgrades.controller';
import { UpgradesService } from './upgrades.service';
import { AuditModule } from '../audit/audit.module';
import { LiveModule } from '../live/live.module';

@Module({
  imports: [
    TypeOrmModule.forFeature([UpgradeCampaign, UpgradeTarget, Concentrator]),
    CommandsModule,
    ConcentratorsModule,
    FirmwareModule,
    IngestionModule,

    AuditModule,
    LiveModule,
  ],
  controllers: [UpgradesController],
  providers: [UpgradeTargetStore, UpgradeRunner, UpgradeProgress, UpgradesService],
})
export class UpgradesModule {}
