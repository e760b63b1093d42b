import { BadRequestException, ConflictException, Logger, NotFoundException } from '@nestjs/common';
import type { AuditInput, AuditService } from '../audit/audit.service';
import type { Command, CommandState } from '../commands/command.entity';
import type { CommandSettlement } from '../commands/command-settlement.service';
import type {
  CommandsService,
  OutgoingMessage,
  SendCommandInput,
} from '../commands/commands.service';
import type {
  ConcentratorConfigService,
  DesiredConfig,
  DesiredConfigState,
} from '../concentrators/concentrator-config.service';
import type { ConcentratorRegistry } from '../concentrators/concentrator-registry.service';
import type { ConcentratorsService, SyncState } from '../concentrators/concentrators.service';
import type { DeviceMessageContext } from '../ingestion/device-message-context';
import type { IngestionService } from '../ingestion/ingestion.service';
import { DesiredStateIngestHandlers } from './desired-state.ingest-handlers';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';
import type { DesiredKind, DesiredState } from './desired-state.entity';
import { DesiredStateService } from './desired-state.service';
import type { DesiredStateStore } from './desired-state.store';

const SN = '202005010001';
const ADMIN = { actor: { name: 'alice', role: 'admin' } as never, ip: '10.0.0.1' };
const SCHEDULE = {
  items: [{ slot: 1, lines: [1, 2], on: false, at: '22:30', days: [1, 2, 3], enabled: true }],
};
const PARAMS = { lines: [{ line: 1, maxCurrentA: 20 }] };

/** The registry's side: one concentrator row's state and desired config. */
class FakeConcentrators {
  useDesiredSync(): void {}
  rows = new Map<
    string,
    {
      state: 'pending' | 'managed';
      lineCount: number | null;
      config: DesiredConfig | null;
      sync: SyncState | null;
      commandId: string | null;
    }
  >();

  add(sn: string, over: Partial<ReturnType<FakeConcentrators['row']>> = {}): void {
    this.rows.set(sn, {
      state: 'managed',
      lineCount: 4,
      config: null,
      sync: null,
      commandId: null,
      ...over,
    });
  }

  row(sn: string) {
    const r = this.rows.get(sn);
    if (!r) throw new NotFoundException(`concentrator ${sn} not found`);
    return r;
  }

  get = (sn: string) => Promise.resolve({ sn, ...this.row(sn) });

  desiredConfigOf = (sn: string): Promise<DesiredConfigState> => {
    const r = this.row(sn);
    return Promise.resolve({ desired: r.config, sync: r.sync, commandId: r.commandId });
  };

  configToPush = (sn: string): Promise<DesiredConfig | null> => {
    const r = this.rows.get(sn);
    return Promise.resolve(r?.state === 'managed' ? r.config : null);
  };

  setDesiredConfig = jest.fn((sn: string, config: DesiredConfig) => {
    Object.assign(this.row(sn), { config, sync: 'pending', commandId: null });
    return Promise.resolve();
  });

  recordConfigPushed = (sn: string, config: DesiredConfig, id: string): Promise<boolean> => {
    const r = this.rows.get(sn);
    if (!r || JSON.stringify(r.config) !== JSON.stringify(config)) return Promise.resolve(false);
    Object.assign(r, { sync: 'pending', commandId: id });
    return Promise.resolve(true);
  };

  recordConfigSettled = (sn: string, id: string, sync: SyncState): Promise<void> => {
    const r = this.rows.get(sn);
    if (r?.commandId === id) r.sync = sync;
    return Promise.resolve();
  };
}

/** desired_state in memory, with the same conditional writes as DesiredStateStore. */
class FakeStore {
  rows = new Map<string, Partial<DesiredState>>();
  private key = (sn: string, kind: DesiredKind) => `${sn}/${kind}`;

  find = (sn: string, kind: DesiredKind) =>
    Promise.resolve((this.rows.get(this.key(sn, kind)) as DesiredState | undefined) ?? null);

  setDesired = jest.fn((sn: string, kind: DesiredKind, value: unknown, by: string) => {
    const k = this.key(sn, kind);
    this.rows.set(k, {
      ...this.rows.get(k),
      sn,
      kind,
      desired: value as Record<string, unknown>[],
      updatedBy: by,
      sync: 'pending',
      commandId: null,
    });
    return Promise.resolve();
  });

  recordCarrier = (sn: string, kind: DesiredKind, desired: unknown, id: string) => {
    const r = this.rows.get(this.key(sn, kind));
    if (!r || JSON.stringify(r.desired) !== JSON.stringify(desired)) return Promise.resolve(false);
    Object.assign(r, { sync: 'pending', commandId: id });
    return Promise.resolve(true);
  };

  recordSettled = (sn: string, kind: DesiredKind, id: string, sync: SyncState) => {
    const r = this.rows.get(this.key(sn, kind));
    if (r?.commandId === id) r.sync = sync;
    return Promise.resolve();
  };

  recordReport = jest.fn(
    (sn: string, kind: DesiredKind, value: unknown, at: Date, commandId: string | null) => {
      const k = this.key(sn, kind);
      this.rows.set(k, {
        ...this.rows.get(k),
        sn,
        kind,
        reported: value as Record<string, unknown>[],
        reportedAt: at,
        reportedCommandId: commandId,
      });
      return Promise.resolve();
    },
  );

  sync(sn: string, kind: DesiredKind) {
    const r = this.rows.get(this.key(sn, kind));
    return { sync: r?.sync ?? null, commandId: r?.commandId ?? null };
  }
}

/** Commands: every dispatch is recorded; `settle` plays the device's answer. */
class FakeCommands {
  sent: (SendCommandInput & { id: string })[] = [];
  byId = new Map<string, Command>();
  /** The state a new command has by the time its carrier is recorded (a fast device). */
  stateOnDispatch: CommandState = 'sent';
  failNext: Error | null = null;
  private n = 0;

  dispatch = (input: SendCommandInput): Promise<Command> => {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      return Promise.reject(err);
    }
    const id = `${input.message.type[0]}-${++this.n}`;
    const cmd = {
      id,
      sn: input.sn,
      type: input.message.type,
      state: this.stateOnDispatch,
      payload: input.message as unknown as Record<string, unknown>,
      ackCode: null,
      ackMsg: null,
      createdAt: new Date(1_700_000_000_000),
      settledAt: null,
    } as Command;
    this.byId.set(id, cmd);
    this.sent.push({ ...input, id });
    return Promise.resolve(cmd);
  };

  get = (id: string): Promise<Command> => {
    const c = this.byId.get(id);
    return c ? Promise.resolve(c) : Promise.reject(new NotFoundException(id));
  };

  types(sn = SN): string[] {
    return this.sent.filter((s) => s.sn === sn).map((s) => s.message.type);
  }

  last(type: string): SendCommandInput & { id: string } {
    const s = this.sent.filter((m) => m.message.type === type).at(-1);
    if (!s) throw new Error(`no ${type} sent`);
    return s;
  }
}

function setup() {
  const handlers = new Map<string, (ctx: DeviceMessageContext) => unknown>();
  const ingestion = {
    on: (type: string, h: (ctx: DeviceMessageContext) => unknown) => handlers.set(type, h),
  };
  const online = new Set<string>();
  const registry = { isOnline: (sn: string) => online.has(sn) };
  const concentrators = new FakeConcentrators();
  const commands = new FakeCommands();
  let settledListener: (cmd: Command) => void = () => undefined;
  const settlement = {
    onSettled: (fn: (cmd: Command) => void) => {
      settledListener = fn;
      return () => undefined;
    },
  };
  const audited: AuditInput[] = [];
  const audit = {
    record: (e: AuditInput) => {
      audited.push(e);
      return Promise.resolve();
    },
  };
  const lifecycle = new ConcentratorLifecycle();
  const store = new FakeStore();
  const svc = new DesiredStateService(
    registry as unknown as ConcentratorRegistry,
    concentrators as unknown as ConcentratorsService,
    concentrators as unknown as ConcentratorConfigService,
    commands as unknown as CommandsService,
    settlement as unknown as CommandSettlement,
    audit as unknown as AuditService,
    lifecycle,
    store as unknown as DesiredStateStore,
  );
  svc.onModuleInit();
  new DesiredStateIngestHandlers(ingestion as unknown as IngestionService, svc).onModuleInit();

  /** A device message as ingestion hands it to the registered handler. */
  const deliver = async (
    msg: Record<string, unknown>,
    state: 'pending' | 'managed' = 'managed',
  ) => {
    const h = handlers.get(msg.type as string);
    if (!h) throw new Error(`no handler for ${msg.type as string}`);
    await h({
      dev: { sn: SN, state },
      msg: { sn: SN, ...msg },
      at: new Date(1_700_000_000_000),
    } as unknown as DeviceMessageContext);
  };
  const configRequest = (state: 'pending' | 'managed' = 'managed') =>
    deliver({ type: 'config_request', fw: '1.0', model: 'm', lines: 4, io: 'eth' }, state);

  /** The device's answer: the command settles and the settlement listeners hear it. */
  const settle = async (id: string, state: CommandState) => {
    const cmd = commands.byId.get(id)!;
    cmd.state = state;
    settledListener(cmd);
    await new Promise((r) => setImmediate(r));
  };

  return {
    svc,
    handlers,
    online,
    concentrators,
    commands,
    store,
    audited,
    lifecycle,
    deliver,
    configRequest,
    settle,
  };
}

const CONFIG = { reportS: 30, heartbeatS: 20, deltaPct: 3 };
const WIRE_CONFIG: OutgoingMessage = {
  type: 'config',
  report_s: 30,
  heartbeat_s: 20,
  delta_pct: 3,
};

describe('DesiredStateService', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  describe('on config_request', () => {
    it('pushes config, schedules and params, in that order, and records each carrier', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG, sync: 'pending' });
      await t.svc.putSchedules(SN, SCHEDULE, ADMIN);
      await t.svc.putParams(SN, PARAMS, ADMIN);
      expect(t.commands.sent).toEqual([]);

      await t.configRequest();

      expect(t.commands.types()).toEqual(['config', 'schedules', 'params']);
      expect(t.commands.sent[0]).toMatchObject({
        sn: SN,
        message: WIRE_CONFIG,
        requireOnline: false,
        actor: null,
      });
      expect(t.commands.sent[1].message).toEqual({
        type: 'schedules',
        items: SCHEDULE.items,
      });
      expect(t.commands.sent[2].message).toEqual({
        type: 'params',
        lines: [{ line: 1, max_current_a: 20 }],
      });
      expect(t.concentrators.row(SN)).toMatchObject({ sync: 'pending', commandId: 'c-1' });
      expect(t.store.sync(SN, 'schedules')).toEqual({ sync: 'pending', commandId: 's-2' });
      expect(t.store.sync(SN, 'params')).toEqual({ sync: 'pending', commandId: 'p-3' });
    });

    it('sends only what is set: no config when none is desired, nothing at all when nothing is', async () => {
      const t = setup();
      t.concentrators.add(SN);
      await t.configRequest();
      expect(t.commands.sent).toEqual([]);

      await t.svc.putParams(SN, PARAMS, ADMIN);
      await t.configRequest();
      expect(t.commands.types()).toEqual(['params']);
    });

    it('gives a pending concentrator nothing', async () => {
      const t = setup();
      t.concentrators.add(SN, { state: 'pending', config: CONFIG });
      await t.configRequest('pending');
      expect(t.commands.sent).toEqual([]);
    });

    it('re-pushes the same values on every request: a timed-out push is retried there', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      await t.configRequest();
      const first = t.commands.last('config').id;
      await t.settle(first, 'timeout');
      expect(t.concentrators.row(SN)).toMatchObject({ sync: 'pending', commandId: first });

      await t.configRequest();
      const second = t.commands.last('config');
      expect(second.id).not.toBe(first);
      expect(second.message).toEqual(WIRE_CONFIG);
      await t.settle(second.id, 'acked');
      expect(t.concentrators.row(SN)).toMatchObject({ sync: 'synced', commandId: second.id });
    });

    it('a push the broker refuses is skipped, and the next kinds still go out', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      await t.svc.putSchedules(SN, SCHEDULE, ADMIN);
      t.commands.failNext = new Error('broker_unavailable');
      await t.configRequest();
      expect(t.commands.types()).toEqual(['schedules']);
      // Not carried: still pending, and sent again on the next request.
      expect(t.concentrators.row(SN)).toMatchObject({ commandId: null });
      await t.configRequest();
      expect(t.commands.types()).toEqual(['schedules', 'config', 'schedules']);
    });
  });

  describe('on adoption', () => {
    it('pushes everything at once when the adopted concentrator is online', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      t.online.add(SN);
      await t.lifecycle.publish({ sn: SN, change: 'adopted', actor: 'alice' });
      await new Promise((r) => setImmediate(r));
      expect(t.commands.types()).toEqual(['config']);
    });

    it('waits for the next config_request when it is offline, and ignores other changes', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      await t.lifecycle.publish({ sn: SN, change: 'adopted', actor: 'alice' });
      t.online.add(SN);
      await t.lifecycle.publish({ sn: SN, change: 'released', actor: 'alice' });
      await t.lifecycle.publish({ sn: SN, change: 'registered', actor: 'alice' });
      await new Promise((r) => setImmediate(r));
      expect(t.commands.sent).toEqual([]);
    });
  });

  describe('on settle', () => {
    it('acked → synced, failed → failed, timeout leaves pending', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      await t.svc.putSchedules(SN, SCHEDULE, ADMIN);
      await t.svc.putParams(SN, PARAMS, ADMIN);
      await t.configRequest();
      const [config, schedules, params] = t.commands.sent.map((s) => s.id);

      await t.settle(config, 'acked');
      await t.settle(schedules, 'failed');
      await t.settle(params, 'timeout');

      expect(t.concentrators.row(SN).sync).toBe('synced');
      expect(t.store.sync(SN, 'schedules').sync).toBe('failed');
      expect(t.store.sync(SN, 'params').sync).toBe('pending');
    });

    it("an older command's answer does not settle a newer value", async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      t.online.add(SN);
      await t.configRequest();
      const old = t.commands.last('config').id;
      await t.svc.putConfig(SN, { reportS: 60, heartbeatS: 30, deltaPct: 5 }, ADMIN);
      const current = t.commands.last('config').id;

      await t.settle(old, 'acked');

      expect(t.concentrators.row(SN)).toMatchObject({ sync: 'pending', commandId: current });
    });

    it('ignores commands that carry no desired state', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      await t.configRequest();
      const id = t.commands.last('config').id;
      const sw = { ...t.commands.byId.get(id)!, id: 'w-9', type: 'switch' } as Command;
      t.commands.byId.set('w-9', sw);
      await t.settle('w-9', 'acked');
      expect(t.concentrators.row(SN).sync).toBe('pending');
    });

    it('a device that answered before the carrier was recorded still settles it', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      t.commands.stateOnDispatch = 'acked';
      await t.configRequest();
      expect(t.concentrators.row(SN)).toMatchObject({
        sync: 'synced',
        commandId: t.commands.last('config').id,
      });
    });

    it('a value changed while its push was on the way keeps no stale carrier', async () => {
      const t = setup();
      t.concentrators.add(SN, { config: CONFIG });
      const dispatch = t.commands.dispatch;
      t.commands.dispatch = async (input) => {
        const cmd = await dispatch(input);
        // An operator's PUT lands between the send and the carrier's record.
        Object.assign(t.concentrators.row(SN), { config: { ...CONFIG, reportS: 90 } });
        return cmd;
      };
      await t.configRequest();
      expect(t.concentrators.row(SN)).toMatchObject({ commandId: null });
    });
  });

  describe('PUT', () => {
    it('config: stored through the registry, pushed at once when online, audited with its carrier', async () => {
      const t = setup();
      t.concentrators.add(SN);
      t.online.add(SN);
      const view = await t.svc.putConfig(SN, CONFIG, ADMIN);

      expect(t.concentrators.setDesiredConfig).toHaveBeenCalledWith(SN, CONFIG);
      expect(t.commands.sent).toEqual([
        expect.objectContaining({ sn: SN, message: WIRE_CONFIG, actor: ADMIN.actor }),
      ]);
      const id = t.commands.last('config').id;
      expect(view).toMatchObject({ sn: SN, desired: CONFIG, sync: 'pending', commandId: id });
      expect(view.command).toMatchObject({ id, state: 'sent' });
      expect(t.audited).toEqual([
        expect.objectContaining({
          action: 'desired.config',
          target: SN,
          outcome: 'ok',
          ip: ADMIN.ip,
          detail: { ...CONFIG, pushedBy: id },
        }),
      ]);
    });

    it('offline: stored, nothing sent, pending until the next config_request', async () => {
      const t = setup();
      t.concentrators.add(SN);
      const view = await t.svc.putSchedules(SN, SCHEDULE, ADMIN);
      expect(t.commands.sent).toEqual([]);
      expect(view).toMatchObject({ desired: SCHEDULE, sync: 'pending', commandId: null });
      expect(t.store.setDesired).toHaveBeenCalledWith(SN, 'schedules', SCHEDULE.items, 'alice');
      expect(t.audited[0].detail).toEqual({ items: 1, pushedBy: null });
    });

    it('refuses what the device cannot take before storing or sending anything', async () => {
      const t = setup();
      t.concentrators.add(SN, { lineCount: 2 });
      t.online.add(SN);
      await expect(
        t.svc.putParams(SN, { lines: [{ line: 3, maxCurrentA: 10 }] }, ADMIN),
      ).rejects.toBeInstanceOf(BadRequestException);
      await expect(t.svc.putParams(SN, { lines: [{ line: 1 }] }, ADMIN)).rejects.toBeInstanceOf(
        BadRequestException,
      );
      await expect(
        t.svc.putConfig(SN, { reportS: 1, heartbeatS: 20, deltaPct: 3 }, ADMIN),
      ).rejects.toBeInstanceOf(BadRequestException);
      t.concentrators.add('202005010002', { state: 'pending' });
      await expect(t.svc.putConfig('202005010002', CONFIG, ADMIN)).rejects.toBeInstanceOf(
        ConflictException,
      );
      await expect(t.svc.putConfig('202005019999', CONFIG, ADMIN)).rejects.toBeInstanceOf(
        NotFoundException,
      );
      expect(t.store.setDesired).not.toHaveBeenCalled();
      expect(t.concentrators.setDesiredConfig).not.toHaveBeenCalled();
      expect(t.commands.sent).toEqual([]);
    });
  });

  it('stores what the device reports beside the desired value', async () => {
    const t = setup();
    t.concentrators.add(SN);
    await t.deliver({ type: 'schedules', id: 'q-1', items: SCHEDULE.items });
    await t.deliver({ type: 'params', lines: [{ line: 1, max_current_a: 20 }] });
    expect(t.store.recordReport.mock.calls).toEqual([
      [SN, 'schedules', SCHEDULE.items, new Date(1_700_000_000_000), 'q-1'],
      [SN, 'params', [{ line: 1, max_current_a: 20 }], new Date(1_700_000_000_000), null],
    ]);
    expect(t.commands.sent).toEqual([]);
  });
});
