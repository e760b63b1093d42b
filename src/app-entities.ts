import { Alarm } from './alarms/alarm.entity';
import { AuditEntry } from './audit/audit-entry.entity';
import { Command } from './commands/command.entity';
import { DesiredState } from './desired-state/desired-state.entity';
import { DeviceCredential } from './credentials/device-credential.entity';
import { ConcentratorLine } from './telemetry/concentrator-line.entity';
import { Concentrator } from './concentrators/entities/concentrator.entity';
import { DeviceEvent } from './concentrators/entities/device-event.entity';
import { LineName } from './concentrators/entities/line-name.entity';
import { Rejection } from './ingestion/rejection.entity';
import { Setting } from './tokens/setting.entity';
import { ApiToken } from './tokens/api-token.entity';
import { Firmware } from './firmware/firmware.entity';
import { UpgradeCampaign } from './upgrades/entities/upgrade-campaign.entity';
import { UpgradeTarget } from './upgrades/entities/upgrade-target.entity';
import { Tariff } from './tariffs/entities/tariff.entity';
import { TariffAssignment } from './tariffs/entities/tariff-assignment.entity';

// Append new entities here (one list for the app, the CLI and the tests).
export const ENTITIES = [
  Concentrator,
  LineName,
  ConcentratorLine,
  DeviceEvent,
  Rejection,
  Setting,
  AuditEntry,
  Command,
  DesiredState,
  ApiToken,
  Alarm,
  DeviceCredential,
  Firmware,
  UpgradeCampaign,
  UpgradeTarget,
  Tariff,
  TariffAssignment,
];
