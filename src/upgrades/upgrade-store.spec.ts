import { getMetadataArgsStorage, Repository } from 'typeorm';
import type { SqlRunner } from '../database/sql-runner';
import type { LiveEvent, LiveFeed } from '../live/live-feed.service';
import { UpgradeCampaign } from './entities/upgrade-campaign.entity';
import { UpgradeTarget } from './entities/upgrade-target.entity';
import { UpgradeStore } from './upgrade-store';
import { ORDER_COLUMNS, TARGET_COLUMNS } from './upgrades.sql';

/** Answers each statement with the next queued rows; records what ran. */
class FakeSql {
  readonly ran: { sql: string; params: unknown[] }[] = [];
  readonly answers: Record<string, unknown>[][] = [];
  rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    this.ran.push({ sql, params });
    return Promise.resolve(this.answers.shift() ?? []);
  }
  run(sql: string, params: unknown[] = []): Promise<number> {
    this.ran.push({ sql, params });
    return Promise.resolve(0);
  }
}

class FakeLive {
  readonly events: LiveEvent[] = [];
  emit(e: LiveEvent): void {
    this.events.push(e);
  }
}

function setup() {
  const sql = new FakeSql();
  const live = new FakeLive();
  const store = new UpgradeStore(
    new Repository(UpgradeCampaign, undefined!),
    new Repository(UpgradeTarget, undefined!),
    sql as unknown as SqlRunner,
    live as unknown as LiveFeed,
  );
  return { sql, live, store };
}

const KEY = { campaignId: 'c-1', sn: '202005010001', version: '2.0.0' };

/** `expr AS "alias"` or a bare `t.col`, as property → column. */
function aliases(list: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of list.split(',').map((p) => p.trim())) {
    const m = /^\w+\.(\w+)(?:\s+AS\s+"(\w+)")?$/.exec(part);
    if (!m) throw new Error(`unexpected column ${part}`);
    out.set(m[2] ?? m[1], m[1]);
  }
  return out;
}

/** property → column of an entity, from its TypeORM decorators. */
function columnsOf(entity: object): Map<string, string> {
  return new Map(
    getMetadataArgsStorage()
      .columns.filter((c) => c.target === entity)
      .map((c) => [c.propertyName, c.options.name ?? c.propertyName]),
  );
}

describe('UpgradeStore', () => {
  it('reads every column of a target, named as in UpgradeTarget: one row shape', () => {
    expect(aliases(TARGET_COLUMNS)).toEqual(columnsOf(UpgradeTarget));
  });

  it("reads what a target's campaign installs, named as in UpgradeCampaign", () => {
    const campaign = columnsOf(UpgradeCampaign);
    for (const [property, column] of aliases(ORDER_COLUMNS)) {
      expect([property, campaign.get(property)]).toEqual([property, column]);
    }
  });

  it('gives the bigint size as a number', async () => {
    const s = setup();
    s.sql.answers.push([{ sn: KEY.sn, size: '4096', version: '2.0.0' }]);
    await expect(s.store.byCommand(KEY.sn, 'u-1')).resolves.toMatchObject({ size: 4096 });
    expect(s.sql.ran[0].params).toEqual([KEY.sn, 'u-1']);
    await expect(s.store.byCommand(KEY.sn, 'u-2')).resolves.toBeUndefined();
  });

  describe('transition', () => {
    it('sets the patch only from the given states, stamping times, and announces it', async () => {
      const s = setup();
      const row = {
        state: 'downloading',
        progress: 0,
        reason: null,
        reportedVersion: null,
        commandId: 'u-1',
      };
      s.sql.answers.push([row]);
      const changed = await s.store.transition(KEY, ['sent', 'acked'], {
        state: 'downloading',
        progress: 0,
        reportedVersion: null,
        lastMessage: { state: 'downloading' },
        progressAt: 'now',
        ackedAt: 'keep_or_now',
        finishedAt: null,
      });
      expect(changed).toBe(true);
      const { sql, params } = s.sql.ran[0];
      expect(sql).toContain(
        'SET updated_at = now(), state = $5, progress = $6, reported_version = $7, ' +
          'last_message = $8, progress_at = now(), acked_at = coalesce(acked_at, now()), ' +
          'finished_at = $9',
      );
      expect(sql).toMatch(/WHERE campaign_id = \$1 AND sn = \$2 AND state = ANY \(\$3::text\[\]\)/);
      expect(params).toEqual([
        'c-1',
        KEY.sn,
        ['sent', 'acked'],
        null,
        'downloading',
        0,
        null,
        '{"state":"downloading"}',
        null,
      ]);
      expect(s.live.events).toEqual([
        {
          kind: 'upgrade',
          sn: KEY.sn,
          at: expect.any(String),
          upgrade: { campaignId: 'c-1', version: '2.0.0', ...row },
        },
      ]);
    });

    it('with onlyCommand, only while the target waits on that command', async () => {
      const s = setup();
      await s.store.transition(KEY, ['sent'], { ackedAt: 'now' }, 'u-7');
      expect(s.sql.ran[0].sql).toContain('($4::text IS NULL OR command_id = $4)');
      expect(s.sql.ran[0].params).toEqual(['c-1', KEY.sn, ['sent'], 'u-7']);
    });

    it('false, and silent, when the target was not in those states', async () => {
      const s = setup();
      await expect(s.store.transition(KEY, ['sent'], { state: 'acked' })).resolves.toBe(false);
      expect(s.live.events).toEqual([]);
    });

    it('announces only changes of state or progress', async () => {
      const s = setup();
      s.sql.answers.push([{ state: 'sent' }]);
      await expect(
        s.store.transition(KEY, ['sent'], { ackedAt: 'now', reason: 'x' }),
      ).resolves.toBe(true);
      expect(s.live.events).toEqual([]);
    });
  });

  it('announces each target the deadline expired', async () => {
    const s = setup();
    s.sql.answers.push([KEY, { ...KEY, sn: '202005010002' }]);
    await expect(s.store.expireDue()).resolves.toHaveLength(2);
    expect(s.live.events.map((e) => [e.sn, e.kind === 'upgrade' && e.upgrade])).toEqual([
      [KEY.sn, { campaignId: 'c-1', version: '2.0.0', state: 'expired' }],
      ['202005010002', { campaignId: 'c-1', version: '2.0.0', state: 'expired' }],
    ]);
  });

  it('counts states only of the campaigns asked for', async () => {
    const s = setup();
    await expect(s.store.stateCounts([])).resolves.toEqual([]);
    expect(s.sql.ran).toEqual([]);
    s.sql.answers.push([{ campaignId: 'c-1', state: 'queued', n: 2 }]);
    await expect(s.store.stateCounts(['c-1'])).resolves.toEqual([
      { campaignId: 'c-1', state: 'queued', n: 2 },
    ]);
    expect(s.sql.ran[0].params).toEqual([['c-1']]);
  });

  it('names the running campaign that installs an image', async () => {
    const s = setup();
    s.sql.answers.push([{ id: 'c-3' }]);
    await expect(s.store.runningCampaignOf('f-1')).resolves.toBe('c-3');
    await expect(s.store.runningCampaignOf('f-2')).resolves.toBeNull();
    expect(s.sql.ran.map((r) => r.params)).toEqual([['f-1'], ['f-2']]);
  });
});
