import { ConcentratorLine } from '../devices/entities/concentrator-line.entity';
import { Concentrator } from '../devices/entities/concentrator.entity';
import { DeviceEvent } from '../devices/entities/device-event.entity';
import { Rejection } from '../rejections/rejection.entity';
import { Setting } from './setting.entity';

export const ENTITIES = [Concentrator, ConcentratorLine, DeviceEvent, Rejection, Setting];
