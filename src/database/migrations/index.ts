import { InitialSchema1732240000000 } from './1732240000000-initial-schema';
import { AuditLog1732240100000 } from './1732240100000-audit-log';
import { Commands1732240200000 } from './1732240200000-commands';
import { Alarms1732240300000 } from './1732240300000-alarms';
import { FirmwareUpgrades1732240400000 } from './1732240400000-firmware-upgrades';
import { ApiTokens1732240500000 } from './1732240500000-api-tokens';
import { DeviceCredentials1732240600000 } from './1732240600000-device-credentials';
import { OptionalDesiredConfig1732240700000 } from './1732240700000-optional-desired-config';
import { WideAckCodes1732240800000 } from './1732240800000-wide-ack-codes';
import { CoalescedDeviceEvents1732240810000 } from './1732240810000-coalesced-device-events';
import { ClosedAlarmsIndex1732240820000 } from './1732240820000-closed-alarms-index';
import { LineNames1732240830000 } from './1732240830000-line-names';
import { Tariffs1732240840000 } from './1732240840000-tariffs';

// Listed explicitly (not globbed) so the same list works from ts-jest, ts-node and dist.
// Append new migrations at the end, in timestamp order.
export const MIGRATIONS = [
  InitialSchema1732240000000,
  AuditLog1732240100000,
  Commands1732240200000,
  Alarms1732240300000,
  FirmwareUpgrades1732240400000,
  ApiTokens1732240500000,
  DeviceCredentials1732240600000,
  OptionalDesiredConfig1732240700000,
  WideAckCodes1732240800000,
  CoalescedDeviceEvents1732240810000,
  ClosedAlarmsIndex1732240820000,
  LineNames1732240830000,
  Tariffs1732240840000,
];
