import { Command } from '../commands/command.entity';
import {
  PARAMS_LINE_SCHEMA,
  ParamsLine,
  SCHEDULE_ITEM_SCHEMA,
  ScheduleItem,
} from '../protocol/backend-messages';
import { DesiredState } from './desired-state.entity';
import {
  CarrierView,
  ParamsDto,
  ParamsLineDto,
  ParamsView,
  SchedulesDto,
  SchedulesView,
} from './dto/desired-state.dto';
import { camel } from './wire-check';

type WireParamsLine = Record<string, number>;

// Field lists come from the protocol schemas, so both sides stay in step.
const SCHEDULE_KEYS = Object.keys(SCHEDULE_ITEM_SCHEMA.shape) as (keyof ScheduleItem)[];
type ThresholdKey = Exclude<keyof ParamsLine, 'line'>;
const PARAM_WIRE_KEYS = Object.keys(PARAMS_LINE_SCHEMA.shape).filter(
  (k) => k !== 'line',
) as ThresholdKey[];

export function schedulesToWire(dto: SchedulesDto): Record<string, unknown>[] {
  return dto.items.map((i) => Object.fromEntries(SCHEDULE_KEYS.map((k) => [k, i[k]])));
}

export function paramsToWire(dto: ParamsDto): WireParamsLine[] {
  return dto.lines.map((l) => {
    const out: WireParamsLine = { line: l.line };
    for (const k of PARAM_WIRE_KEYS) {
      const v = l[camel(k) as keyof ParamsLineDto];
      if (v !== undefined) out[k] = v;
    }
    return out;
  });
}

function paramsFromWire(lines: Record<string, unknown>[]): ParamsDto {
  return {
    lines: lines.map((l) => {
      const out: Record<string, unknown> = { line: l.line };
      for (const k of PARAM_WIRE_KEYS) if (l[k] !== undefined) out[camel(k)] = l[k];
      return out as unknown as ParamsLineDto;
    }),
  };
}

export function carrierView(c: Command | null): CarrierView | null {
  if (!c) return null;
  return {
    id: c.id,
    state: c.state,
    ackCode: c.ackCode,
    ackMsg: c.ackMsg,
    createdAt: c.createdAt.toISOString(),
    settledAt: c.settledAt?.toISOString() ?? null,
  };
}

function common(sn: string, row: DesiredState | null, carrier: Command | null) {
  return {
    sn,
    sync: row?.desired ? row.sync : null,
    commandId: row?.commandId ?? null,
    command: carrierView(carrier),
    updatedAt: row?.updatedAt?.toISOString() ?? null,
    updatedBy: row?.updatedBy ?? null,
    reportedAt: row?.reportedAt?.toISOString() ?? null,
  };
}

export function schedulesView(
  sn: string,
  row: DesiredState | null,
  carrier: Command | null,
): SchedulesView {
  const desired = row?.desired ? { items: row.desired as unknown as ScheduleItem[] } : null;
  const reported = row?.reported ? { items: row.reported as unknown as ScheduleItem[] } : null;
  return {
    ...common(sn, row, carrier),
    desired,
    reported,
    drift: desired && reported ? schedulesDiffer(desired.items, reported.items) : null,
  };
}

export function paramsView(
  sn: string,
  row: DesiredState | null,
  carrier: Command | null,
): ParamsView {
  const desired = row?.desired ? paramsFromWire(row.desired) : null;
  const reported = row?.reported ? paramsFromWire(row.reported) : null;
  return {
    ...common(sn, row, carrier),
    desired,
    reported,
    drift:
      row?.desired && row.reported
        ? paramsDiffer(
            row.desired as unknown as ParamsLine[],
            row.reported as unknown as ParamsLine[],
          )
        : null,
  };
}

/** Order of items, lines and days does not matter to the device. */
export function schedulesDiffer(a: ScheduleItem[], b: ScheduleItem[]): boolean {
  const norm = (items: ScheduleItem[]) =>
    JSON.stringify(
      [...items]
        .sort((x, y) => x.slot - y.slot)
        .map((i) => ({
          ...Object.fromEntries(SCHEDULE_KEYS.map((k) => [k, i[k]])),
          lines: [...i.lines].sort((x, y) => x - y),
          days: [...i.days].sort((x, y) => x - y),
        })),
    );
  return norm(a) !== norm(b);
}

/** Only thresholds the desired state sets are compared: a missing field means "leave unchanged". */
export function paramsDiffer(desired: ParamsLine[], reported: ParamsLine[]): boolean {
  const byLine = new Map(reported.map((l) => [l.line, l]));
  return desired.some((d) => {
    const r = byLine.get(d.line);
    if (!r) return true;
    return PARAM_WIRE_KEYS.some((k) => d[k] !== undefined && d[k] !== r[k]);
  });
}
