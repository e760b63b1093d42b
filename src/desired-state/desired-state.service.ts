import {
  BadRequestException,
  ConflictException,
  Injectable,
  Logger,
  OnModuleInit,
} from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { Command } from '../commands/command.entity';
import { CommandSettlement } from '../commands/command-settlement.service';
import { CommandsService, OutgoingMessage } from '../commands/commands.service';
import { ConcentratorConfigService } from '../concentrators/concentrator-config.service';
import { ConcentratorsService } from '../concentrators/concentrators.service';
import { ConcentratorRegistry } from '../concentrators/concentrator-registry.service';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';
import type { SyncState } from '../concentrators/concentrators.service';
import {
  ConfigCmd,
  ParamsLine,
  paramsLineList,
  PARAMS_LINE_SCHEMA,
  ScheduleItem,
  scheduleItemList,
  SCHEDULE_ITEM_SCHEMA,
} from '../protocol/backend-messages';
import {
  paramsToWire,
  paramsView,
  schedulesToWire,
  schedulesView,
  carrierView,
} from './desired-state-views';
import { DesiredKind } from './desired-state.entity';
import { DesiredStateStore } from './desired-state.store';
import {
  ConfigDto,
  ConfigView,
  ParamsDto,
  ParamsView,
  SchedulesDto,
  SchedulesView,
} from './dto/desired-state.dto';
import { checkLineCount, checkWire } from './wire-check';

type Kind = 'config' | DesiredKind;
const CONFIG_FIELDS = ConfigCmd.pick({ report_s: true, heartbeat_s: true, delta_pct: true });
const SCHEDULES = scheduleItemList(SCHEDULE_ITEM_SCHEMA);
const PARAMS = paramsLineList(PARAMS_LINE_SCHEMA);

interface Caller {
  actor: Actor | null;
  ip?: string;
}

/**
 * Desired config, schedules and params of a concentrator: stored, pushed at
 * once when it is online, re-pushed (config, schedules, params, in that order)
 * on every config_request. A kind is `synced` only when the device acked the
 * command that carried its current value; an ack ok:false makes it `failed`.
 * This service decides what to push and when; the config itself is stored by
 * the registry (ConcentratorConfigService), schedules and params by DesiredStateStore.
 */
@Injectable()
export class DesiredStateService implements OnModuleInit {
  private readonly log = new Logger('DesiredState');

  constructor(
    private readonly registry: ConcentratorRegistry,
    private readonly concentrators: ConcentratorsService,
    private readonly configs: ConcentratorConfigService,
    private readonly commands: CommandsService,
    private readonly settlement: CommandSettlement,
    private readonly audit: AuditService,
    private readonly lifecycle: ConcentratorLifecycle,
    private readonly store: DesiredStateStore,
  ) {}

  onModuleInit(): void {
    this.concentrators.useDesiredSync((sns) => this.store.syncOf(sns));
    this.settlement.onSettled((cmd) => void this.onSettled(cmd));
    // A concentrator adopted while online has been waiting for its config since
    // its config_request: give it now rather than at its next reconnect.
    this.lifecycle.subscribe((e) => {
      if (e.change === 'adopted' && this.registry.isOnline(e.sn)) {
        void this.pushAll(e.sn).catch((err: Error) =>
          this.log.warn(`push after adoption of ${e.sn} failed: ${err.message}`),
        );
      }
    });
  }

  // ---- reads ----------------------------------------------------------------

  async getConfig(sn: string): Promise<ConfigView> {
    const c = await this.configs.desiredConfigOf(sn);
    return {
      sn,
      desired: c.desired,
      sync: c.sync,
      commandId: c.commandId,
      command: carrierView(await this.carrier(c.commandId)),
    };
  }

  async getSchedules(sn: string): Promise<SchedulesView> {
    await this.concentrators.get(sn);
    const row = await this.store.find(sn, 'schedules');
    return schedulesView(sn, row, await this.carrier(row?.commandId ?? null));
  }

  async getParams(sn: string): Promise<ParamsView> {
    await this.concentrators.get(sn);
    const row = await this.store.find(sn, 'params');
    return paramsView(sn, row, await this.carrier(row?.commandId ?? null));
  }

  private async carrier(id: string | null): Promise<Command | null> {
    return id ? this.commands.get(id).catch(() => null) : null;
  }

  // ---- writes ---------------------------------------------------------------

  async putConfig(sn: string, dto: ConfigDto, caller: Caller): Promise<ConfigView> {
    const wire = checkWire(
      CONFIG_FIELDS,
      { report_s: dto.reportS, heartbeat_s: dto.heartbeatS, delta_pct: dto.deltaPct },
      'config',
    );
    await this.managed(sn);
    await this.configs.setDesiredConfig(sn, {
      reportS: wire.report_s,
      heartbeatS: wire.heartbeat_s,
      deltaPct: wire.delta_pct,
    });
    const pushed = await this.pushIfOnline(sn, 'config', caller);
    await this.recordChange(caller, 'config', sn, { ...dto }, pushed);
    return this.getConfig(sn);
  }

  async putSchedules(sn: string, dto: SchedulesDto, caller: Caller): Promise<SchedulesView> {
    const items = checkWire(SCHEDULES, schedulesToWire(dto), 'items');
    const c = await this.managed(sn);
    checkLineCount(
      c.lineCount,
      items.flatMap((i, n) => i.lines.map((line) => ({ where: `items[${n}].lines`, line }))),
    );
    await this.storeDesired(sn, 'schedules', items, caller);
    const pushed = await this.pushIfOnline(sn, 'schedules', caller);
    await this.recordChange(caller, 'schedules', sn, { items: dto.items.length }, pushed);
    return this.getSchedules(sn);
  }

  async putParams(sn: string, dto: ParamsDto, caller: Caller): Promise<ParamsView> {
    const lines = checkWire(PARAMS, paramsToWire(dto), 'lines');
    const empty = lines.findIndex((l) => Object.keys(l).length === 1);
    if (empty >= 0) throw new BadRequestException([`lines[${empty}]: sets no threshold`]);
    const c = await this.managed(sn);
    checkLineCount(
      c.lineCount,
      lines.map((l, n) => ({ where: `lines[${n}].line`, line: l.line })),
    );
    await this.storeDesired(sn, 'params', lines, caller);
    const pushed = await this.pushIfOnline(sn, 'params', caller);
    await this.recordChange(caller, 'params', sn, { lines: lines.map((l) => l.line) }, pushed);
    return this.getParams(sn);
  }

  /** The concentrator's line count; 404 when unknown, 409 when it is not managed. */
  private async managed(sn: string): Promise<{ lineCount: number | null }> {
    const c = await this.concentrators.get(sn);
    if (c.state !== 'managed') {
      throw new ConflictException(
        `concentrator ${sn} is pending: adopt it before setting its desired state`,
      );
    }
    return { lineCount: c.lineCount };
  }

  private async storeDesired(
    sn: string,
    kind: DesiredKind,
    value: ScheduleItem[] | ParamsLine[],
    caller: Caller,
  ): Promise<void> {
    await this.store.setDesired(sn, kind, value, caller.actor?.name ?? 'system');
  }

  private async recordChange(
    caller: Caller,
    kind: Kind,
    sn: string,
    detail: Record<string, unknown>,
    pushed: string | null,
  ): Promise<void> {
    await this.audit.record({
      actor: caller.actor,
      action: `desired.${kind}`,
      target: sn,
      outcome: 'ok',
      statusCode: 200,
      detail: { ...detail, pushedBy: pushed },
      ip: caller.ip ?? null,
    });
  }

  // ---- pushing --------------------------------------------------------------

  private async pushIfOnline(sn: string, kind: Kind, caller: Caller): Promise<string | null> {
    return this.registry.isOnline(sn) ? this.push(sn, kind, caller) : null;
  }

  /** Config, then schedules, then params: the order protocol.md §3 prescribes. */
  async pushAll(sn: string): Promise<void> {
    for (const kind of ['config', 'schedules', 'params'] as const) {
      await this.push(sn, kind, { actor: null });
    }
  }

  /**
   * Sends the current desired value of one kind and records the command as
   * its carrier, unless the value changed meanwhile (then a newer push carries it).
   */
  private async push(sn: string, kind: Kind, caller: Caller): Promise<string | null> {
    const current = await this.current(sn, kind);
    if (!current) return null;
    let cmd: Command;
    try {
      cmd = await this.commands.dispatch({
        sn,
        message: current.message,
        requireOnline: false,
        ...caller,
      });
    } catch (err) {
      this.log.warn(`${kind} for ${sn} not sent: ${(err as Error).message}`);
      return null;
    }
    const carried = await current.markCarrier(cmd.id);
    if (!carried) return cmd.id;
    // A fast device may have acked before the carrier was recorded.
    const now = await this.commands.get(cmd.id);
    if (now.state !== 'sent') await this.onSettled(now);
    return cmd.id;
  }

  private async current(
    sn: string,
    kind: Kind,
  ): Promise<{ message: OutgoingMessage; markCarrier: (id: string) => Promise<boolean> } | null> {
    if (kind === 'config') {
      const values = await this.configs.configToPush(sn);
      // Unset (or not managed): the device keeps its own settings.
      if (!values) return null;
      return {
        message: {
          type: 'config',
          report_s: values.reportS,
          heartbeat_s: values.heartbeatS,
          delta_pct: values.deltaPct,
        },
        markCarrier: (id) => this.configs.recordConfigPushed(sn, values, id),
      };
    }
    const row = await this.store.find(sn, kind);
    if (!row?.desired) return null;
    const message: OutgoingMessage =
      kind === 'schedules'
        ? { type: 'schedules', items: row.desired as unknown as ScheduleItem[] }
        : { type: 'params', lines: row.desired as unknown as ParamsLine[] };
    return {
      message,
      markCarrier: (id) => this.store.recordCarrier(sn, kind, row.desired, id),
    };
  }

  /** acked → synced, failed → failed; a timeout leaves it pending (re-pushed on the next config_request). */
  private async onSettled(cmd: Command): Promise<void> {
    if (cmd.type !== 'config' && cmd.type !== 'schedules' && cmd.type !== 'params') return;
    const sync: SyncState | null =
      cmd.state === 'acked' ? 'synced' : cmd.state === 'failed' ? 'failed' : null;
    if (!sync) return;
    try {
      if (cmd.type === 'config') {
        await this.configs.recordConfigSettled(cmd.sn, cmd.id, sync);
      } else {
        await this.store.recordSettled(cmd.sn, cmd.type, cmd.id, sync);
      }
    } catch (err) {
      this.log.error(`sync state of ${cmd.sn} ${cmd.type}: ${(err as Error).message}`);
    }
  }

  // ---- device reports -------------------------------------------------------

  /** What the device says it runs now (its answer to a query, or after a change). */
  async storeReport(
    sn: string,
    kind: DesiredKind,
    value: ScheduleItem[] | ParamsLine[],
    at: Date,
    commandId: string | undefined,
  ): Promise<void> {
    await this.store.recordReport(sn, kind, value, at, commandId ?? null);
  }
}
