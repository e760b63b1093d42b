import { Logger } from '@nestjs/common';
import type { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import type {
  DeviceMessageContext,
  DeviceMessageHandler,
} from '../ingestion/device-message-context';
import type { IngestionService } from '../ingestion/ingestion.service';
import type { AckMsg } from '../protocol/device-messages';
import { CommandAcksIngestHandlers } from './command-acks.ingest-handlers';
import { Command } from './command.entity';
import type { CommandSettlement } from './command-settlement.service';
import type { AckOutcome, CommandStore } from './command-store';
import type { CommandTimeouts } from './command-timeouts.service';

const SN = '202005010001';
const OTHER = '202005010002';

function command(over: Partial<Command>): Command {
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
    createdAt: new Date(Date.now() - 1000),
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

/** The store's conditional updates, over a Map: the same answers the SQL gives. */
function fakeStore() {
  const rows = new Map<string, Command>();
  const store = {
    rows,
    byId: jest.fn(async (id: string) => {
      const r = rows.get(id);
      return r ? command({ ...r }) : null;
    }),
    settleByAck: jest.fn(async (id: string, sn: string, ack: AckOutcome) => {
      const r = rows.get(id);
      if (!r || r.sn !== sn || r.state !== 'sent') return false;
      Object.assign(r, {
        state: ack.ok ? 'acked' : 'failed',
        ackCode: ack.code,
        ackMsg: ack.msg,
        settledAt: ack.at,
      });
      return true;
    }),
    recordLateAck: jest.fn(async (id: string, sn: string, ack: AckOutcome) => {
      const r = rows.get(id);
      if (!r || r.sn !== sn || r.lateAckAt !== null) return false;
      Object.assign(r, {
        lateAckAt: ack.at,
        lateAckOk: ack.ok,
        lateAckCode: ack.code,
        lateAckMsg: ack.msg,
      });
      return true;
    }),
  };
  return store;
}

function setup() {
  const handlers = new Map<string, DeviceMessageHandler>();
  const ingestion = {
    on: (type: string, h: DeviceMessageHandler) => handlers.set(type, h),
  } as unknown as IngestionService;
  const store = fakeStore();
  const timeouts = { disarm: jest.fn() };
  const settlement = { settled: jest.fn(async () => undefined), announce: jest.fn() };
  new CommandAcksIngestHandlers(
    ingestion,
    store as unknown as CommandStore,
    timeouts as unknown as CommandTimeouts,
    settlement as unknown as CommandSettlement,
  ).onModuleInit();
  const onAck = handlers.get('ack')!;

  async function ack(
    sn: string,
    fields: Partial<AckMsg> & { id: string },
    receivedAt = new Date(),
  ) {
    const dev = { sn, state: 'managed', online: true } as CachedConcentrator;
    const msg: AckMsg = { sn, type: 'ack', ts: Math.floor(Date.now() / 1000), ok: true, ...fields };
    const reject = jest.fn();
    const ctx: DeviceMessageContext<AckMsg> = {
      dev,
      msg,
      topic: `smart/devs/${sn}/fromdev`,
      at: receivedAt,
      receivedAt,
      reject,
      drop: jest.fn(),
    };
    await onAck(ctx as DeviceMessageContext);
    return { reject, msg };
  }
  return { store, timeouts, settlement, ack };
}

describe('CommandAcksIngestHandlers', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it('an ack settles its open command, disarms its timer and announces the settlement', async () => {
    const t = setup();
    t.store.rows.set('c-1', command({ id: 'c-1' }));
    const at = new Date('2025-01-01T00:00:00Z');
    const { reject } = await t.ack(SN, { id: 'c-1', ok: true, code: 0, msg: 'done' }, at);
    expect(t.store.rows.get('c-1')).toMatchObject({
      state: 'acked',
      ackCode: 0,
      ackMsg: 'done',
      settledAt: at,
    });
    expect(t.timeouts.disarm).toHaveBeenCalledWith('c-1');
    expect(t.settlement.settled).toHaveBeenCalledWith('c-1');
    expect(t.settlement.announce).not.toHaveBeenCalled();
    expect(t.store.recordLateAck).not.toHaveBeenCalled();
    expect(reject).not.toHaveBeenCalled();
  });

  it('a negative ack fails the command; missing code and msg are stored as null', async () => {
    const t = setup();
    t.store.rows.set('c-2', command({ id: 'c-2' }));
    await t.ack(SN, { id: 'c-2', ok: false });
    expect(t.store.rows.get('c-2')).toMatchObject({ state: 'failed', ackCode: null, ackMsg: null });
    expect(t.settlement.settled).toHaveBeenCalledWith('c-2');
  });

  it('an unknown id changes nothing and is rejected as unknown_command', async () => {
    const t = setup();
    const { reject, msg } = await t.ack(SN, { id: 'c-nope' });
    expect(reject).toHaveBeenCalledTimes(1);
    expect(reject).toHaveBeenCalledWith({
      reason: 'unknown_command',
      field: 'id',
      detail: 'ack for an unknown command id',
      payload: JSON.stringify(msg),
    });
    expect(t.timeouts.disarm).not.toHaveBeenCalled();
    expect(t.settlement.settled).not.toHaveBeenCalled();
    expect(t.store.recordLateAck).not.toHaveBeenCalled();
  });

  it("an id of another concentrator's command is rejected and leaves that command open", async () => {
    const t = setup();
    t.store.rows.set('c-3', command({ id: 'c-3', sn: OTHER }));
    const { reject } = await t.ack(SN, { id: 'c-3' });
    expect(reject).toHaveBeenCalledWith(
      expect.objectContaining({
        reason: 'unknown_command',
        detail: 'ack for a command sent to another concentrator',
      }),
    );
    expect(t.store.rows.get('c-3')).toMatchObject({ state: 'sent', lateAckAt: null });
    expect(t.timeouts.disarm).not.toHaveBeenCalled();
    expect(t.settlement.settled).not.toHaveBeenCalled();
    expect(t.settlement.announce).not.toHaveBeenCalled();
  });

  it('a late ack is kept beside the final state once, and announced once', async () => {
    const t = setup();
    const settledAt = new Date(Date.now() - 500);
    t.store.rows.set('c-4', command({ id: 'c-4', state: 'timeout', settledAt }));
    const first = new Date();
    const a = await t.ack(SN, { id: 'c-4', ok: true, code: 7, msg: 'late' }, first);
    const b = await t.ack(SN, { id: 'c-4', ok: false, code: 9 }, new Date(first.getTime() + 1000));
    expect(a.reject).not.toHaveBeenCalled();
    expect(b.reject).not.toHaveBeenCalled();
    expect(t.store.rows.get('c-4')).toMatchObject({
      state: 'timeout',
      settledAt,
      lateAckAt: first,
      lateAckOk: true,
      lateAckCode: 7,
      lateAckMsg: 'late',
    });
    expect(t.settlement.announce).toHaveBeenCalledTimes(1);
    expect(t.settlement.announce).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'c-4', state: 'timeout', lateAckAt: first }),
    );
    expect(t.settlement.settled).not.toHaveBeenCalled();
    expect(t.timeouts.disarm).not.toHaveBeenCalled();
  });

  it('a repeated ack of an acked command is a late ack, not a second settlement', async () => {
    const t = setup();
    t.store.rows.set('c-5', command({ id: 'c-5' }));
    await t.ack(SN, { id: 'c-5', ok: true });
    await t.ack(SN, { id: 'c-5', ok: true });
    expect(t.settlement.settled).toHaveBeenCalledTimes(1);
    expect(t.settlement.announce).toHaveBeenCalledTimes(1);
    expect(t.store.rows.get('c-5')).toMatchObject({ state: 'acked', lateAckOk: true });
  });
});
