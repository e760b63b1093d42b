import { BadRequestException, ConflictException, Logger } from '@nestjs/common';
import { campaignTarget } from '../../test/support/fixtures/campaign-target';
import { Command, CommandState } from '../commands/command.entity';
import type { CommandSettlement, SettleListener } from '../commands/command-settlement.service';
import type { CommandsService, SendCommandInput } from '../commands/commands.service';
import type {
  CachedConcentrator,
  ConcentratorRegistry,
} from '../concentrators/concentrator-registry.service';
import { loadConfig } from '../config/app-config';
import type { JobSpec, PeriodicJobs } from '../jobs/periodic-jobs';
import type { CampaignTarget, TargetKey, TargetState } from './entities/upgrade-target.entity';
import { MAX_ATTEMPTS, PACING_JOB, UpgradeRunner } from './upgrade-runner.service';
import type { TargetPatch, UpgradeStore } from './upgrade-store';

const CAMPAIGN = 'c-1';
const sn = (i: number) => `2020050100${String(i).padStart(2, '0')}`;

/** The targets of one campaign in memory, with the store's conditional transitions. */
class InMemoryTargets {
  readonly rows = new Map<string, CampaignTarget>();
  expired = 0;
  finished = 0;
  /** Sent before this test's minute (the pacing window). */
  sentEarlier = 0;

  queue(serial: string, over: Partial<CampaignTarget> = {}): CampaignTarget {
    const row = campaignTarget({
      campaignId: CAMPAIGN,
      sn: serial,
      sha256: 'b'.repeat(64),
      size: 4096,
      createdBy: 'ops',
      ...over,
    });
    this.rows.set(serial, row);
    return row;
  }

  get(serial: string): CampaignTarget {
    return this.rows.get(serial)!;
  }

  // ── the part of UpgradeStore that UpgradeRunner uses ──

  expireDue(): Promise<TargetKey[]> {
    this.expired++;
    return Promise.resolve([]);
  }

  finishCompleted(): Promise<void> {
    this.finished++;
    return Promise.resolve();
  }

  sentInLastMinute(): Promise<number> {
    const recent = [...this.rows.values()].filter((t) => t.sentAt !== null).length;
    return Promise.resolve(this.sentEarlier + recent);
  }

  queued(limit: number): Promise<CampaignTarget[]> {
    const rows = [...this.rows.values()].filter((t) => t.state === 'queued');
    return Promise.resolve(rows.slice(0, limit).map((t) => ({ ...t })));
  }

  byCommand(serial: string, commandId: string): Promise<CampaignTarget | undefined> {
    const t = this.rows.get(serial);
    return Promise.resolve(t?.commandIds.includes(commandId) ? { ...t } : undefined);
  }

  attachCommand(key: Pick<CampaignTarget, 'campaignId' | 'sn'>, commandId: string) {
    const t = this.get(key.sn);
    t.commandId = commandId;
    t.commandIds = [...t.commandIds, commandId];
    return Promise.resolve();
  }

  transition(
    key: TargetKey,
    from: readonly TargetState[],
    patch: TargetPatch,
    onlyCommand: string | null = null,
  ): Promise<boolean> {
    const t = this.rows.get(key.sn);
    if (!t || !from.includes(t.state) || (onlyCommand !== null && t.commandId !== onlyCommand)) {
      return Promise.resolve(false);
    }
    const now = new Date();
    const { sentAt, ackedAt, finishedAt, progressAt: _p, lastMessage: _m, ...plain } = patch;
    Object.assign(t, plain);
    if (sentAt !== undefined) t.sentAt = sentAt === 'now' ? now : sentAt;
    if (ackedAt !== undefined) t.ackedAt = ackedAt === 'now' ? now : (t.ackedAt ?? now);
    if (finishedAt !== undefined) t.finishedAt = finishedAt === 'now' ? now : finishedAt;
    return Promise.resolve(true);
  }
}

/** Commands "published": ids in order; a failure to throw instead may be set per serial. */
class FakeCommands {
  readonly sent: SendCommandInput[] = [];
  readonly failures = new Map<string, Error>();
  private next = 1;
  dispatch(input: SendCommandInput): Promise<Command> {
    const failure = this.failures.get(input.sn);
    if (failure) return Promise.reject(failure);
    this.sent.push(input);
    return Promise.resolve(
      Object.assign(new Command(), { id: `u-${this.next++}`, sn: input.sn, type: 'upgrade' }),
    );
  }
}

class FakeSettlement {
  readonly listeners = new Set<SettleListener>();
  onSettled(l: SettleListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  /** A command settles (ack, refusal, timeout): listeners hear it. */
  settle(over: Partial<Command>): void {
    const cmd = Object.assign(
      new Command(),
      { type: 'upgrade', ackCode: null, ackMsg: null },
      over,
    );
    for (const l of this.listeners) l(cmd);
  }
}

class FakeRegistry {
  readonly devices = new Map<string, Pick<CachedConcentrator, 'online' | 'fw'>>();
  get(serial: string): CachedConcentrator | undefined {
    const d = this.devices.get(serial);
    return d && ({ sn: serial, ...d } as CachedConcentrator);
  }
}

class FakeJobs {
  readonly jobs = new Map<string, JobSpec>();
  register(spec: JobSpec): void {
    this.jobs.set(spec.name, spec);
  }
  run(name: string): Promise<unknown> {
    return this.jobs.get(name)!.run();
  }
}

function setup(ratePerMin = 1000) {
  const store = new InMemoryTargets();
  const commands = new FakeCommands();
  const settlement = new FakeSettlement();
  const registry = new FakeRegistry();
  const jobs = new FakeJobs();
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    UPGRADE_RATE_PER_MIN: String(ratePerMin),
  });
  const runner = new UpgradeRunner(
    store as unknown as UpgradeStore,
    commands as unknown as CommandsService,
    settlement as unknown as CommandSettlement,
    registry as unknown as ConcentratorRegistry,
    jobs as unknown as PeriodicJobs,
    config,
  );
  runner.onModuleInit();
  const online = (serial: string, fw: string | null = '1.0.0') =>
    registry.devices.set(serial, { online: true, fw });
  /** One periodic pass, as PeriodicJobs runs it. */
  const pass = () => jobs.run(PACING_JOB);
  /** Lets the settle listener's async work finish. */
  const settled = () => new Promise((r) => setImmediate(r));
  return { store, commands, settlement, registry, jobs, runner, online, pass, settled };
}

describe('UpgradeRunner', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));
  afterEach(() => {
    // Pacing runs as a PeriodicJobs job: the runner keeps no timer of its own.
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
  });

  it('paces through PeriodicJobs, every second', () => {
    const s = setup();
    expect([...s.jobs.jobs.values()]).toEqual([
      expect.objectContaining({ name: PACING_JOB, everyMs: 1000 }),
    ]);
  });

  it('sends the upgrade to online targets, attributed to the campaign creator', async () => {
    const s = setup();
    s.store.queue(sn(1));
    s.online(sn(1));
    await s.pass();
    expect(s.commands.sent).toEqual([
      {
        sn: sn(1),
        message: {
          type: 'upgrade',
          url: 'https://fw.example.com/2.0.0.bin',
          version: '2.0.0',
          sha256: 'b'.repeat(64),
          size: 4096,
        },
        actor: { name: 'ops', role: 'admin' },
        requireOnline: true,
      },
    ]);
    expect(s.store.get(sn(1))).toMatchObject({
      state: 'sent',
      attempts: 1,
      commandId: 'u-1',
      commandIds: ['u-1'],
    });
    expect(s.store.get(sn(1)).sentAt).toBeInstanceOf(Date);
    expect(s.store.expired).toBe(1);
    expect(s.store.finished).toBe(1);
  });

  it('a creator without a known role sends as the system', async () => {
    const s = setup();
    s.store.queue(sn(1), { createdBy: 'anonymous', createdByRole: null });
    s.online(sn(1));
    await s.pass();
    expect(s.commands.sent[0].actor).toBeNull();
  });

  it('keeps offline targets, and those whose version is unknown yet, queued', async () => {
    const s = setup();
    s.store.queue(sn(1));
    s.store.queue(sn(2));
    s.store.queue(sn(3));
    s.registry.devices.set(sn(1), { online: false, fw: '1.0.0' });
    s.online(sn(2), null);
    await s.pass();
    expect(s.commands.sent).toEqual([]);
    expect([...s.store.rows.values()].map((t) => t.state)).toEqual(['queued', 'queued', 'queued']);
    // The version the device just reported counts before the registry has it.
    s.runner.noteVersion(sn(2), '1.5.0');
    await s.pass();
    expect(s.commands.sent.map((c) => c.sn)).toEqual([sn(2)]);
  });

  it('sends to at most UPGRADE_RATE_PER_MIN devices per minute, counting earlier sends', async () => {
    const s = setup(3);
    for (let i = 1; i <= 5; i++) {
      s.store.queue(sn(i));
      s.online(sn(i));
    }
    s.store.sentEarlier = 1;
    await s.pass();
    expect(s.commands.sent.map((c) => c.sn)).toEqual([sn(1), sn(2)]);
    await s.pass();
    expect(s.commands.sent).toHaveLength(2);
    // The window moves on.
    for (const t of s.store.rows.values()) t.sentAt = null;
    s.store.sentEarlier = 0;
    await s.pass();
    expect(s.commands.sent.map((c) => c.sn)).toEqual([sn(1), sn(2), sn(3), sn(4), sn(5)]);
  });

  it('an offline or skipped target does not use the budget', async () => {
    const s = setup(1);
    s.store.queue(sn(1));
    s.store.queue(sn(2));
    s.store.queue(sn(3));
    s.online(sn(2), '2.0.0');
    s.online(sn(3));
    await s.pass();
    expect(s.commands.sent.map((c) => c.sn)).toEqual([sn(3)]);
  });

  it('skips a target whose reported version makes it a downgrade or a reinstall', async () => {
    const s = setup();
    s.store.queue(sn(1));
    s.store.queue(sn(2));
    s.store.queue(sn(3), { allowDowngrade: true });
    s.online(sn(1), '3.0.0');
    s.online(sn(2), '2.0.0');
    s.online(sn(3), '3.0.0');
    await s.pass();
    expect(s.store.get(sn(1))).toMatchObject({
      state: 'skipped',
      reason: expect.stringMatching(/^downgrade refused: device runs 3\.0\.0/),
    });
    expect(s.store.get(sn(1)).finishedAt).toBeInstanceOf(Date);
    expect(s.store.get(sn(2))).toMatchObject({
      state: 'skipped',
      reason: expect.stringMatching(/already runs 2\.0\.0/),
    });
    expect(s.commands.sent.map((c) => c.sn)).toEqual([sn(3)]);
  });

  it('a command that cannot be sent fails the target; a passing obstacle requeues it', async () => {
    const s = setup();
    s.store.queue(sn(1));
    s.store.queue(sn(2), { attempts: 1, sentAt: null });
    s.online(sn(1));
    s.online(sn(2));
    s.commands.failures.set(sn(1), new BadRequestException('url too long'));
    s.commands.failures.set(sn(2), new ConflictException('device_offline'));
    await s.pass();
    expect(s.store.get(sn(1))).toMatchObject({
      state: 'failed',
      reason: 'command not sendable: url too long',
    });
    // Back in the queue, the attempt not counted.
    expect(s.store.get(sn(2))).toMatchObject({ state: 'queued', attempts: 1, sentAt: null });
  });

  describe('command outcomes', () => {
    const sentTarget = async (attempts = 0) => {
      const s = setup();
      s.store.queue(sn(1), { attempts });
      s.online(sn(1));
      await s.pass();
      return s;
    };

    it('an ack moves the target to acked', async () => {
      const s = await sentTarget();
      s.settlement.settle({ id: 'u-1', sn: sn(1), state: 'acked' });
      await s.settled();
      expect(s.store.get(sn(1)).state).toBe('acked');
      expect(s.store.get(sn(1)).ackedAt).toBeInstanceOf(Date);
    });

    it('a refusal fails it with the code and message', async () => {
      const s = await sentTarget();
      s.settlement.settle({ id: 'u-1', sn: sn(1), state: 'failed', ackCode: 7, ackMsg: 'busy' });
      await s.settled();
      expect(s.store.get(sn(1))).toMatchObject({
        state: 'failed',
        reason: 'device refused the upgrade: code 7 (busy)',
      });
    });

    it(`a timeout requeues it and wakes the runner, until ${MAX_ATTEMPTS} attempts`, async () => {
      const s = await sentTarget();
      for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
        const passes = s.store.expired;
        s.registry.devices.set(sn(1), { online: false, fw: '1.0.0' });
        s.settlement.settle({ id: `u-${attempt}`, sn: sn(1), state: 'timeout' });
        await s.settled();
        expect(s.store.get(sn(1))).toMatchObject({
          state: 'queued',
          attempts: attempt,
          reason: `no ack to attempt ${attempt}; will retry`,
        });
        expect(s.store.expired).toBe(passes + 1);
        s.online(sn(1));
        await s.pass();
        expect(s.store.get(sn(1))).toMatchObject({
          state: 'sent',
          attempts: attempt + 1,
          commandId: `u-${attempt + 1}`,
          reason: null,
        });
      }
      expect(s.commands.sent).toHaveLength(MAX_ATTEMPTS);
      s.settlement.settle({ id: `u-${MAX_ATTEMPTS}`, sn: sn(1), state: 'timeout' });
      await s.settled();
      expect(s.store.get(sn(1))).toMatchObject({
        state: 'failed',
        reason: `no ack after ${MAX_ATTEMPTS} attempts`,
      });
    });

    it("ignores an earlier attempt's outcome, other serials' and other command types", async () => {
      const s = await sentTarget();
      s.settlement.settle({ id: 'u-1', sn: sn(1), state: 'timeout' });
      await s.settled();
      expect(s.store.get(sn(1)).commandId).toBe('u-2');
      const outcomes: [Partial<Command>, CommandState][] = [
        [{ id: 'u-1', sn: sn(1) }, 'acked'],
        [{ id: 'u-2', sn: sn(2) }, 'failed'],
        [{ id: 'u-2', sn: sn(1), type: 'switch' }, 'failed'],
      ];
      for (const [cmd, state] of outcomes) s.settlement.settle({ ...cmd, state });
      await s.settled();
      expect(s.store.get(sn(1))).toMatchObject({ state: 'sent', commandId: 'u-2' });
    });

    it('stops listening at shutdown', async () => {
      const s = await sentTarget();
      await s.runner.onApplicationShutdown();
      expect(s.settlement.listeners.size).toBe(0);
    });
  });

  it('a kick during a pass runs one more pass right after it', async () => {
    const s = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const expireDue = s.store.expireDue.bind(s.store);
    s.store.expireDue = async () => {
      if (s.store.expired === 0) await gate;
      return expireDue();
    };
    const first = s.runner.kick();
    const second = s.runner.kick();
    const third = s.runner.kick();
    expect(second).toBe(first);
    expect(third).toBe(first);
    release();
    await first;
    await s.settled();
    await s.settled();
    expect(s.store.expired).toBe(2);
  });

  it('reports wait for a send whose command id is not stored yet', async () => {
    const s = setup();
    s.store.queue(sn(1));
    s.online(sn(1));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const attach = s.store.attachCommand.bind(s.store);
    s.store.attachCommand = async (key, id) => {
      await gate;
      return attach(key, id);
    };
    const pass = s.pass();
    await s.settled();
    let waited = false;
    const report = s.runner.settledSend(sn(1)).then(() => (waited = true));
    await s.settled();
    expect(waited).toBe(false);
    release();
    await Promise.all([pass, report]);
    expect(s.store.get(sn(1)).commandId).toBe('u-1');
  });
});
