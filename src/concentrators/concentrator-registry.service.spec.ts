import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { ConcentratorLifecycle, LifecycleEvent } from '../lifecycle/concentrator-lifecycle';
import { LiveEvent, LiveFeed } from '../live/live-feed.service';
import { ConcentratorRegistry } from './concentrator-registry.service';
import type { SqlRunner } from '../database/sql-runner';
import { FLUSH_LAST_SEEN } from './concentrators.sql';
import type { DeviceEventInput, DeviceHistory } from './device-history.service';
import { Concentrator } from './entities/concentrator.entity';

const SN = '202005010001';

function row(sn: string, over: Partial<Concentrator> = {}): Concentrator {
  return Object.assign(new Concentrator(), {
    sn,
    state: 'managed',
    name: null,
    site: null,
    fw: null,
    model: null,
    lineCount: 4,
    io: null,
    online: false,
    onlineChangedAt: null,
    lastSeenAt: null,
    firstSeenAt: new Date(),
    clockSkew: false,
    clockSkewAt: null,
    reportS: 60,
    heartbeatS: 60,
    deltaPct: 5,
    configSync: null,
    configCommandId: null,
    adoptedAt: null,
    createdAt: new Date(),
    updatedAt: new Date(),
    ...over,
  });
}

/**
 * The concentrators table behind the registry: the discovery insert (ON
 * CONFLICT DO NOTHING RETURNING sn), reads and updates. `hold` makes updates
 * wait, to see the cache while a write is on its way.
 */
function fakeRepo() {
  const table = new Map<string, Concentrator>();
  let held: Promise<void> | undefined;
  const repo = {
    table,
    hold(): () => void {
      let release!: () => void;
      held = new Promise((r) => (release = r));
      return () => {
        held = undefined;
        release();
      };
    },
    createQueryBuilder: jest.fn(() => {
      let values: Partial<Concentrator> = {};
      const qb = {
        insert: () => qb,
        values: (v: Partial<Concentrator>) => ((values = v), qb),
        orIgnore: () => qb,
        returning: () => qb,
        execute: async () => {
          const sn = values.sn!;
          if (table.has(sn)) return { raw: [] };
          table.set(sn, row(sn, values));
          return { raw: [{ sn }] };
        },
      };
      return qb;
    }),
    findOneByOrFail: jest.fn(async ({ sn }: { sn: string }) => {
      const r = table.get(sn);
      if (!r) throw new Error('not found');
      return r;
    }),
    update: jest.fn(async ({ sn }: { sn: string }, patch: Partial<Concentrator>) => {
      await held;
      const r = table.get(sn);
      if (r) Object.assign(r, patch);
      return { affected: r ? 1 : 0 };
    }),
    find: jest.fn(async () => [...table.values()]),
  };
  return repo;
}

function setup(env: Record<string, string> = {}) {
  const repo = fakeRepo();
  const history: DeviceEventInput[] = [];
  const events = {
    add: jest.fn(async (e: DeviceEventInput) => void history.push(e)),
    flush: jest.fn(async () => undefined),
  };
  const lifecycle = new ConcentratorLifecycle();
  const published: LifecycleEvent[] = [];
  lifecycle.subscribe((e) => void published.push(e));
  const live = new LiveFeed();
  const emitted: LiveEvent[] = [];
  live.subscribe((e) => emitted.push(e));
  const sql = {
    run: jest.fn(async (_sql: string, _params: unknown[]) => 0),
    rows: jest.fn(async () => []),
  };
  const config = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', ...env });
  const registry = new ConcentratorRegistry(
    repo as unknown as Repository<Concentrator>,
    events as unknown as DeviceHistory,
    lifecycle,
    live,
    config,
    sql as unknown as SqlRunner,
  );
  return { registry, repo, sql, history, published, emitted };
}

describe('ConcentratorRegistry', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it('put updates a cached entry in place: a message holding it sees the change', () => {
    const { registry } = setup();
    registry.put(row(SN, { state: 'pending', lineCount: null }));
    const held = registry.get(SN)!;
    registry.put(row(SN, { state: 'managed', lineCount: 8, fw: '1.2.0' }));
    expect(registry.get(SN)).toBe(held);
    expect(held).toMatchObject({ state: 'managed', lineCount: 8, fw: '1.2.0' });
  });

  it('put keeps the freshest last-seen time of cache and row', () => {
    const { registry } = setup();
    registry.put(row(SN, { lastSeenAt: new Date(5000) }));
    registry.seen(registry.get(SN)!, 9000);
    registry.put(row(SN, { lastSeenAt: new Date(7000) }));
    expect(registry.get(SN)!.lastSeenMs).toBe(9000);
    registry.put(row(SN, { lastSeenAt: new Date(12_000) }));
    expect(registry.get(SN)!.lastSeenMs).toBe(12_000);
  });

  it('counts entries by a predicate, and forgets removed ones', () => {
    const { registry } = setup();
    registry.put(row('202005010001', { online: true }));
    registry.put(row('202005010002'));
    registry.put(row('202005010003', { state: 'pending', online: true }));
    expect(registry.count(() => true)).toBe(3);
    expect(registry.count((d) => d.online)).toBe(2);
    expect(registry.count((d) => d.state === 'pending')).toBe(1);
    registry.remove('202005010003');
    expect(registry.get('202005010003')).toBeUndefined();
    expect(registry.count((d) => d.online)).toBe(1);
  });

  it('caps discovery at PENDING_MAX pending entries, following adopt, release and delete', () => {
    const { registry } = setup({ PENDING_MAX: '2' });
    expect(registry.mayDiscover()).toBe(true);
    registry.put(row('202005010001', { state: 'pending' }));
    registry.put(row('202005010002', { state: 'pending' }));
    expect(registry.mayDiscover()).toBe(false);
    // The same pending row again does not count twice.
    registry.put(row('202005010002', { state: 'pending' }));
    registry.put(row('202005010001', { state: 'managed' })); // adopted
    expect(registry.mayDiscover()).toBe(true);
    registry.put(row('202005010001', { state: 'pending' })); // released
    expect(registry.mayDiscover()).toBe(false);
    registry.remove('202005010002'); // deleted
    expect(registry.mayDiscover()).toBe(true);
    registry.remove('202005010002'); // twice: still one pending
    registry.put(row('202005010003', { state: 'pending' }));
    expect(registry.mayDiscover()).toBe(false);
  });

  it('AUTO_ADOPT discovers without a cap', () => {
    const { registry } = setup({ PENDING_MAX: '1', AUTO_ADOPT: 'true' });
    registry.put(row('202005010001', { state: 'pending' }));
    registry.put(row('202005010002', { state: 'pending' }));
    expect(registry.mayDiscover()).toBe(true);
  });

  it('discovers an unknown serial once, as pending, and announces it', async () => {
    const { registry, repo, published } = setup({ PENDING_MAX: '1' });
    const [a, b] = await Promise.all([registry.resolve(SN), registry.resolve(SN)]);
    expect(a).toBe(b);
    expect(repo.createQueryBuilder).toHaveBeenCalledTimes(1);
    expect(a).toMatchObject({ sn: SN, state: 'pending', online: false, lineCount: null });
    expect(repo.table.get(SN)).toMatchObject({ state: 'pending', adoptedAt: null });
    expect(registry.mayDiscover()).toBe(false);
    await registry.drain();
    expect(published).toEqual([
      expect.objectContaining({ sn: SN, change: 'discovered', detail: { state: 'pending' } }),
    ]);
    // Known now: no second insert.
    await expect(registry.resolve(SN)).resolves.toBe(a);
    expect(repo.createQueryBuilder).toHaveBeenCalledTimes(1);
  });

  it('with AUTO_ADOPT a discovered serial is managed at once', async () => {
    const { registry, repo } = setup({ AUTO_ADOPT: 'true' });
    const dev = await registry.resolve(SN);
    expect(dev.state).toBe('managed');
    expect(repo.table.get(SN)!.adoptedAt).toBeInstanceOf(Date);
    await registry.drain();
  });

  it('a serial registered meanwhile elsewhere is read from the table, not announced', async () => {
    const { registry, repo, published } = setup();
    repo.table.set(SN, row(SN, { state: 'managed', lineCount: 6 }));
    const dev = await registry.resolve(SN);
    expect(dev).toMatchObject({ state: 'managed', lineCount: 6 });
    await registry.drain();
    expect(published).toEqual([]);
  });

  it('the first message marks a device online once: live event, row and history', async () => {
    const { registry, repo, history, emitted } = setup();
    repo.table.set(SN, row(SN));
    registry.put(row(SN));
    const dev = registry.get(SN)!;
    registry.seen(dev, 1000);
    registry.seen(dev, 2000);
    expect(dev).toMatchObject({ online: true, lastSeenMs: 2000 });
    await registry.drain();
    expect(repo.update).toHaveBeenCalledTimes(1);
    expect(repo.table.get(SN)!.online).toBe(true);
    expect(history).toEqual([
      expect.objectContaining({ sn: SN, kind: 'online', detail: { reason: 'message' } }),
    ]);
    expect(emitted).toEqual([
      expect.objectContaining({ kind: 'connectivity', sn: SN, online: true, reason: 'message' }),
    ]);

    registry.markOffline(SN, 'will');
    registry.markOffline(SN, 'will');
    await registry.drain();
    expect(dev.online).toBe(false);
    expect(history.map((h) => h.kind)).toEqual(['online', 'offline']);
  });

  it('a put while the online write is on its way keeps the newer cached flag', async () => {
    const { registry, repo } = setup();
    registry.put(row(SN, { state: 'pending' }));
    const release = repo.hold();
    registry.seen(registry.get(SN)!, 1000);
    // Adopted right after the first message: the row still says offline.
    registry.put(row(SN, { state: 'managed', online: false }));
    expect(registry.get(SN)).toMatchObject({ state: 'managed', online: true });
    release();
    await registry.drain();
    // Written: the table is the truth again.
    registry.put(row(SN, { state: 'managed', online: false }));
    expect(registry.get(SN)!.online).toBe(false);
  });

  it('last-seen times are flushed in one statement, without removed serials', async () => {
    const { registry, sql } = setup();
    registry.put(row('202005010001'));
    registry.put(row('202005010002'));
    registry.seen(registry.get('202005010001')!, 1000);
    registry.seen(registry.get('202005010002')!, 2000);
    registry.remove('202005010002');
    await registry.drain();
    await registry.flushSeen();
    expect(sql.run).toHaveBeenCalledTimes(1);
    expect(sql.run.mock.calls[0]).toEqual([FLUSH_LAST_SEEN, [['202005010001'], [1000]]]);
    await registry.flushSeen();
    expect(sql.run).toHaveBeenCalledTimes(1);
  });

  it('a deleted serial registered again starts from nothing', async () => {
    const { registry } = setup();
    registry.put(row(SN, { lineCount: 8, fw: '2.0.0', lastSeenAt: new Date(50_000) }));
    const old = registry.get(SN)!;
    registry.seen(old, 60_000);
    registry.setClockSkew(old, true, {});
    await registry.drain();
    registry.remove(SN);
    expect(registry.get(SN)).toBeUndefined();

    registry.put(row(SN, { lineCount: null, fw: null, online: false, lastSeenAt: null }));
    const fresh = registry.get(SN)!;
    expect(fresh).not.toBe(old);
    expect(fresh).toEqual({
      sn: SN,
      state: 'managed',
      lineCount: null,
      reportS: 60,
      online: false,
      clockSkew: false,
      lastSeenMs: 0,
      fw: null,
    });
    // What a message still holding the old entry records does not reach the new one.
    registry.seen(old, 70_000);
    expect(fresh.lastSeenMs).toBe(0);
    await registry.drain();
  });
});
