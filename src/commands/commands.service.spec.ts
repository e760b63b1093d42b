import {
  BadRequestException,
  ConflictException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { AuditService } from '../audit/audit.service';
import { loadConfig } from '../config/app-config';
import type { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import type { ConcentratorsService } from '../concentrators/concentrators.service';
import type { Actor } from '../identity/roles';
import { LiveFeed } from '../live/live-feed.service';
import type { TodevPublisher } from '../mqtt/todev-publisher.service';
import type { BackendMessage } from '../protocol/backend-messages';
import { Command } from './command.entity';
import { CommandSettlement } from './command-settlement.service';
import type { CommandStore, LockedCommands, StoreOutcome, StoreRules } from './command-store';
import type { CommandTimeouts } from './command-timeouts.service';
import { CommandsService, IdempotentReplay, SendCommandInput } from './commands.service';

const SN = '202005010001';
const TTL_S = 3600;
const OPERATOR: Actor = { name: 'alice', role: 'operator' };

function command(over: Partial<Command> = {}): Command {
  return Object.assign(new Command(), {
    id: 'c-1',
    sn: SN,
    type: 'switch',
    lines: [1],
    payload: {},
    state: 'sent',
    ackCode: null,
    ackMsg: null,
    actor: 'alice',
    actorRole: 'operator',
    createdAt: new Date(),
    settledAt: null,
    lateAckAt: null,
    lateAckOk: null,
    lateAckCode: null,
    lateAckMsg: null,
    idempotencyKey: null,
    requestHash: null,
    ...over,
  });
}

function setup() {
  const calls: string[] = [];
  const rows = new Map<string, Command>();
  const dev: CachedConcentrator = {
    sn: SN,
    state: 'managed',
    lineCount: 4,
    reportS: null,
    online: true,
    clockSkew: false,
    lastSeenMs: 0,
    fw: null,
  };
  const locked: LockedCommands = { lastSwitchSince: async () => null };
  let holder: Command | undefined;
  const store = {
    insert: jest.fn(async (row: Command, rules: StoreRules = {}): Promise<StoreOutcome> => {
      calls.push('insert');
      await rules.guard?.(locked);
      if (holder) return { stored: false, holder };
      rows.set(row.id, row);
      return { stored: true };
    }),
    delete: jest.fn(async (id: string) => {
      calls.push('delete');
      rows.delete(id);
    }),
    byId: jest.fn(async (id: string) => rows.get(id) ?? null),
    byIdempotencyKey: jest.fn(
      async (_actor: string, _key: string): Promise<Command | null> => null,
    ),
  };
  const publisher = {
    connected: true,
    publish: jest.fn(async (msg: BackendMessage) => {
      // A fast device's ack must find the record: it is there before the publish.
      calls.push(rows.has(msg.id) ? 'publish (stored)' : 'publish (NOT stored)');
      return JSON.stringify(msg);
    }),
  };
  const timeouts = { arm: jest.fn((_row: Command) => calls.push('arm')) };
  const settlement = {
    announce: jest.fn((_row: Command) => calls.push('announce')),
    waitFor: jest.fn(),
  };
  const audit = { record: jest.fn(async () => undefined) };
  const concentrators = {
    cached: jest.fn(async (sn: string) => {
      if (sn !== SN) throw new NotFoundException(`concentrator ${sn} not found`);
      return dev;
    }),
  };
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    IDEMPOTENCY_TTL_S: String(TTL_S),
  });
  const svc = new CommandsService(
    store as unknown as CommandStore,
    timeouts as unknown as CommandTimeouts,
    settlement as unknown as CommandSettlement,
    publisher as unknown as TodevPublisher,
    concentrators as unknown as ConcentratorsService,
    audit as unknown as AuditService,
    config,
  );
  return {
    svc,
    calls,
    rows,
    dev,
    store,
    publisher,
    timeouts,
    settlement,
    audit,
    holdKey: (c: Command) => (holder = c),
  };
}

const switchOn = (over: Partial<SendCommandInput> = {}): SendCommandInput => ({
  sn: SN,
  message: { type: 'switch', lines: [1, 2], on: true },
  actor: OPERATOR,
  ip: '10.0.0.9',
  ...over,
});

describe('CommandsService.dispatch', () => {
  it('refuses a pending concentrator with 409 and stores nothing', async () => {
    const t = setup();
    t.dev.state = 'pending';
    await expect(t.svc.dispatch(switchOn())).rejects.toBeInstanceOf(ConflictException);
    expect(t.store.insert).not.toHaveBeenCalled();
    expect(t.publisher.publish).not.toHaveBeenCalled();
  });

  it('passes on the 404 of an unknown serial', async () => {
    const t = setup();
    await expect(t.svc.dispatch(switchOn({ sn: '202005019999' }))).rejects.toBeInstanceOf(
      NotFoundException,
    );
    expect(t.store.insert).not.toHaveBeenCalled();
  });

  it('refuses an offline concentrator with 409 device_offline unless requireOnline is false', async () => {
    const t = setup();
    t.dev.online = false;
    const err = await t.svc.dispatch(switchOn()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictException);
    expect((err as ConflictException).message).toBe('device_offline');
    expect(t.rows.size).toBe(0);

    const row = await t.svc.dispatch(switchOn({ requireOnline: false }));
    expect(row.state).toBe('sent');
    expect(t.publisher.publish).toHaveBeenCalledTimes(1);
  });

  it('refuses with 503 broker_unavailable before storing anything', async () => {
    const t = setup();
    t.publisher.connected = false;
    const err = await t.svc.dispatch(switchOn()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableException);
    expect((err as ServiceUnavailableException).message).toBe('broker_unavailable');
    expect(t.store.insert).not.toHaveBeenCalled();
    expect(t.rows.size).toBe(0);
    expect(t.audit.record).not.toHaveBeenCalled();
  });

  it('turns a message the protocol refuses into 400, stores and publishes nothing', async () => {
    const t = setup();
    await expect(
      t.svc.dispatch(switchOn({ message: { type: 'switch', lines: [], on: true } })),
    ).rejects.toBeInstanceOf(BadRequestException);
    await expect(
      t.svc.dispatch(
        switchOn({ message: { type: 'config', report_s: 1, heartbeat_s: 60, delta_pct: 5 } }),
      ),
    ).rejects.toThrow(/report_s/);
    expect(t.store.insert).not.toHaveBeenCalled();
    expect(t.publisher.publish).not.toHaveBeenCalled();
  });

  it('stores before publishing, then arms the timeout, announces and audits', async () => {
    const t = setup();
    const before = Date.now();
    const row = await t.svc.dispatch(switchOn());
    expect(t.calls).toEqual(['insert', 'publish (stored)', 'arm', 'announce']);

    const published = t.publisher.publish.mock.calls[0][0];
    expect(published).toMatchObject({
      sn: SN,
      type: 'switch',
      lines: [1, 2],
      on: true,
      id: row.id,
    });
    expect(published.id).toMatch(/^c-[A-Za-z0-9_-]{22}$/);
    expect(published.ts).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(row).toMatchObject({
      sn: SN,
      type: 'switch',
      state: 'sent',
      actor: 'alice',
      actorRole: 'operator',
      lines: null,
      idempotencyKey: null,
      requestHash: null,
      payload: JSON.parse(JSON.stringify(published)) as Record<string, unknown>,
    });
    expect(t.rows.get(row.id)).toBe(row);
    expect(t.timeouts.arm).toHaveBeenCalledWith(row);
    expect(t.settlement.announce).toHaveBeenCalledWith(row);
    expect(t.audit.record).toHaveBeenCalledTimes(1);
    expect(t.audit.record).toHaveBeenCalledWith({
      actor: OPERATOR,
      action: 'command.switch',
      target: SN,
      outcome: 'ok',
      statusCode: 202,
      detail: { commandId: row.id, payload: row.payload },
      ip: '10.0.0.9',
    });
  });

  it('records the system as actor when there is none', async () => {
    const t = setup();
    const row = await t.svc.dispatch(switchOn({ actor: null, ip: undefined }));
    expect(row).toMatchObject({ actor: 'system', actorRole: null });
    expect(t.audit.record).toHaveBeenCalledWith(expect.objectContaining({ actor: null, ip: null }));
  });

  it('hands the guard, lines and the key with its expiry to the store', async () => {
    const t = setup();
    const guard = jest.fn(async (_l: LockedCommands) => undefined);
    const row = await t.svc.dispatch(switchOn(), {
      lines: [1, 2],
      idempotency: { key: 'k-1', hash: 'h-1' },
      guard,
    });
    expect(guard).toHaveBeenCalledTimes(1);
    expect(row).toMatchObject({ lines: [1, 2], idempotencyKey: 'k-1', requestHash: 'h-1' });
    const rules = t.store.insert.mock.calls[0][1]!;
    expect(rules.guard).toBe(guard);
    expect(rules.idempotency?.key).toBe('k-1');
    const expiredBefore = rules.idempotency!.expiredBefore.getTime();
    expect(Math.abs(expiredBefore - (Date.now() - TTL_S * 1000))).toBeLessThan(1000);
  });

  it('a guard that refuses leaves nothing stored or published', async () => {
    const t = setup();
    const refusal = new ConflictException('cooldown');
    await expect(
      t.svc.dispatch(switchOn(), {
        guard: async () => {
          throw refusal;
        },
      }),
    ).rejects.toBe(refusal);
    expect(t.rows.size).toBe(0);
    expect(t.publisher.publish).not.toHaveBeenCalled();
  });

  it('deletes the row and rethrows when the publish fails', async () => {
    const t = setup();
    const failure = new ServiceUnavailableException('broker_unavailable');
    t.publisher.publish.mockRejectedValueOnce(failure);
    await expect(t.svc.dispatch(switchOn())).rejects.toBe(failure);
    expect(t.calls).toEqual(['insert', 'delete']);
    const id = t.store.insert.mock.calls[0][0].id;
    expect(t.store.delete).toHaveBeenCalledWith(id);
    expect(t.rows.size).toBe(0);
    expect(t.timeouts.arm).not.toHaveBeenCalled();
    expect(t.settlement.announce).not.toHaveBeenCalled();
    expect(t.audit.record).not.toHaveBeenCalled();
  });

  it('throws IdempotentReplay with the holder when the key is taken, publishing nothing', async () => {
    const t = setup();
    const first = command({ id: 'c-first', idempotencyKey: 'k-1', requestHash: 'h-1' });
    t.holdKey(first);
    const err = await t.svc
      .dispatch(switchOn(), { idempotency: { key: 'k-1', hash: 'h-1' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotentReplay);
    expect((err as IdempotentReplay).command).toBe(first);
    expect(t.publisher.publish).not.toHaveBeenCalled();
    expect(t.timeouts.arm).not.toHaveBeenCalled();
    expect(t.audit.record).not.toHaveBeenCalled();
  });
});

describe('CommandsService.findByIdempotencyKey', () => {
  it('finds the command under the actor (or system) while the key lives', async () => {
    const t = setup();
    const fresh = command({ createdAt: new Date(Date.now() - (TTL_S - 60) * 1000) });
    t.store.byIdempotencyKey.mockResolvedValue(fresh);
    await expect(t.svc.findByIdempotencyKey(OPERATOR, 'k')).resolves.toBe(fresh);
    expect(t.store.byIdempotencyKey).toHaveBeenLastCalledWith('alice', 'k');
    await expect(t.svc.findByIdempotencyKey(null, 'k')).resolves.toBe(fresh);
    expect(t.store.byIdempotencyKey).toHaveBeenLastCalledWith('system', 'k');
  });

  it('ignores a command stored longer than IDEMPOTENCY_TTL_S ago', async () => {
    const t = setup();
    t.store.byIdempotencyKey.mockResolvedValue(
      command({ createdAt: new Date(Date.now() - (TTL_S + 60) * 1000) }),
    );
    await expect(t.svc.findByIdempotencyKey(OPERATOR, 'k')).resolves.toBeNull();
  });

  it('is null when nothing holds the key', async () => {
    const t = setup();
    await expect(t.svc.findByIdempotencyKey(OPERATOR, 'k')).resolves.toBeNull();
  });
});

describe('CommandsService.waitFinal', () => {
  /** The service with the real settlement (and its waiters) over the same fake store. */
  function withSettlement() {
    const t = setup();
    const settlement = new CommandSettlement(t.store as unknown as CommandStore, new LiveFeed());
    const svc = new CommandsService(
      t.store as unknown as CommandStore,
      t.timeouts as unknown as CommandTimeouts,
      settlement,
      t.publisher as unknown as TodevPublisher,
      {} as ConcentratorsService,
      t.audit as unknown as AuditService,
      loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x' }),
    );
    return { ...t, svc, settlement };
  }

  afterEach(() => jest.useRealTimers());

  it('404 for an unknown id', async () => {
    const t = withSettlement();
    await expect(t.svc.waitFinal('c-none', 5)).rejects.toBeInstanceOf(NotFoundException);
  });

  it('returns a final command at once', async () => {
    jest.useFakeTimers();
    const t = withSettlement();
    t.rows.set('c-1', command({ state: 'acked', settledAt: new Date() }));
    await expect(t.svc.waitFinal('c-1', 30)).resolves.toMatchObject({ state: 'acked' });
    expect(t.store.byId).toHaveBeenCalledTimes(1);
    // The waiter's deadline timer went with it.
    expect(jest.getTimerCount()).toBe(0);
  });

  it('returns a sent command as it is when asked not to wait', async () => {
    const t = withSettlement();
    t.rows.set('c-1', command());
    await expect(t.svc.waitFinal('c-1', 0)).resolves.toMatchObject({ state: 'sent' });
  });

  it('waits while sent and returns the re-read row once it settles', async () => {
    jest.useFakeTimers();
    const t = withSettlement();
    t.rows.set('c-1', command());
    let result: Command | undefined;
    const waiting = t.svc.waitFinal('c-1', 30).then((c) => (result = c));
    await jest.advanceTimersByTimeAsync(5000);
    expect(result).toBeUndefined();

    t.rows.set('c-1', command({ state: 'acked', settledAt: new Date(), ackCode: 0 }));
    await t.settlement.settled('c-1');
    await waiting;
    expect(result).toMatchObject({ state: 'acked', ackCode: 0 });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('returns the row as it is at the deadline when nothing settles here', async () => {
    jest.useFakeTimers();
    const t = withSettlement();
    t.rows.set('c-1', command());
    let result: Command | undefined;
    const waiting = t.svc.waitFinal('c-1', 2).then((c) => (result = c));
    await jest.advanceTimersByTimeAsync(1999);
    expect(result).toBeUndefined();
    // Another instance settled it meanwhile: the re-read at the deadline sees it.
    t.rows.set('c-1', command({ state: 'timeout', settledAt: new Date() }));
    await jest.advanceTimersByTimeAsync(1);
    await waiting;
    expect(result).toMatchObject({ state: 'timeout' });
  });
});
