import { AuditEntry } from '../audit/audit-entry.entity';
import { Command } from '../commands/command.entity';
import { ConcentratorLine } from '../devices/entities/concentrator-line.entity';
import { Concentrator } from '../devices/entities/concentrator.entity';
import { DeviceEvent } from '../devices/entities/device-event.entity';
import { Rejection } from '../rejections/rejection.entity';
import { Setting } from './setting.entity';

// Append new entities here (one list for the app, the CLI and the tests).
export const ENTITIES = [
  Concentrator,
  ConcentratorLine,
  DeviceEvent,
  Rejection,
  Setting,
  AuditEntry,
  Command,
];
