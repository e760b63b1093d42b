import type { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import type { DeviceMessageContext } from '../ingestion/device-message-context';
import type { IngestionService } from '../ingestion/ingestion.service';
import type { RejectionInput } from '../ingestion/rejections.service';
import type { ConfigRequestMsg, UpgradeProgressMsg } from '../protocol/device-messages';
import type {
  CampaignTarget,
  TargetKey,
  TargetState,
  UpgradeTarget,
} from './entities/upgrade-target.entity';
import { campaignTarget } from '../../test/support/fixtures/campaign-target';
import { UpgradeProgress } from './upgrade-progress.ingest-handlers';
import type { UpgradeRunner } from './upgrade-runner.service';
import type { TargetPatch, UpgradeStore } from './upgrade-store';

const SN = '202005010001';
const OTHER = '202005010002';
const CAMPAIGN = 'c-1';

/** upgrade_targets in memory, with the store's rule: a transition applies only from the given states. */
class InMemoryTargets {
  readonly rows = new Map<string, CampaignTarget>();
  readonly notes: { sn: string; message: Record<string, unknown> }[] = [];

  add(over: Partial<CampaignTarget> & { sn: string }): CampaignTarget {
    const row = campaignTarget({ campaignId: CAMPAIGN, ...over });
    this.rows.set(row.sn, row);
    return row;
  }

  /** A target its command `id` went out for, waiting in `state`. */
  sent(sn: string, id: string, state: TargetState = 'sent'): CampaignTarget {
    return this.add({
      sn,
      state,
      commandId: id,
      commandIds: [id],
      attempts: 1,
      sentAt: new Date(),
    });
  }

  get(sn: string): CampaignTarget {
    return this.rows.get(sn)!;
  }

  // ── the part of UpgradeStore that UpgradeProgress uses ──

  byCommand(sn: string, commandId: string): Promise<CampaignTarget | undefined> {
    const t = this.rows.get(sn);
    return Promise.resolve(t?.commandIds.includes(commandId) ? { ...t } : undefined);
  }

  sentNotDone(sn: string): Promise<CampaignTarget[]> {
    const t = this.rows.get(sn);
    const open = t && t.commandId !== null && !['done', 'skipped'].includes(t.state);
    return Promise.resolve(open ? [{ ...t }] : []);
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
    const at = (v: 'now' | 'keep_or_now' | Date | null, old: Date | null) =>
      v === 'now' ? now : v === 'keep_or_now' ? (old ?? now) : v;
    const { sentAt, ackedAt, progressAt, finishedAt, lastMessage, ...plain } = patch;
    const stamps: Partial<UpgradeTarget> = {};
    if (sentAt !== undefined) stamps.sentAt = at(sentAt, t.sentAt);
    if (ackedAt !== undefined) stamps.ackedAt = at(ackedAt, t.ackedAt);
    if (progressAt !== undefined) stamps.progressAt = at(progressAt, t.progressAt);
    if (finishedAt !== undefined) stamps.finishedAt = at(finishedAt, t.finishedAt);
    if (lastMessage !== undefined) stamps.lastMessage = lastMessage;
    Object.assign(t, plain, stamps, { updatedAt: now });
    return Promise.resolve(true);
  }

  note(key: Pick<UpgradeTarget, 'campaignId' | 'sn'>, message: Record<string, unknown>) {
    this.notes.push({ sn: key.sn, message });
    this.rows.get(key.sn)!.lastMessage = message;
    return Promise.resolve();
  }
}

class FakeRunner {
  readonly versions = new Map<string, string>();
  kicks = 0;
  settledSend(_sn: string): Promise<void> {
    return Promise.resolve();
  }
  noteVersion(sn: string, fw: string): void {
    this.versions.set(sn, fw);
  }
  kick(): Promise<void> {
    this.kicks++;
    return Promise.resolve();
  }
}

type Handler = (ctx: DeviceMessageContext) => void | Promise<void>;

class FakeIngestion {
  readonly handlers = new Map<string, Handler>();
  on(type: string, handler: Handler): void {
    this.handlers.set(type, handler);
  }
}

function setup() {
  const store = new InMemoryTargets();
  const runner = new FakeRunner();
  const ingestion = new FakeIngestion();
  const progress = new UpgradeProgress(
    ingestion as unknown as IngestionService,
    store as unknown as UpgradeStore,
    runner as unknown as UpgradeRunner,
  );
  progress.onModuleInit();
  const rejections: Omit<RejectionInput, 'topic' | 'sn'>[] = [];
  const at = new Date('2024-05-01T10:00:00Z');
  const ctx = <M extends UpgradeProgressMsg | ConfigRequestMsg>(sn: string, msg: M) =>
    ({
      dev: { sn, fw: '1.0.0', online: true } as CachedConcentrator,
      msg,
      topic: `bc/${sn}/fromdev`,
      at,
      receivedAt: at,
      reject: (r: Omit<RejectionInput, 'topic' | 'sn'>) => rejections.push(r),
      drop: () => undefined,
    }) as DeviceMessageContext<M>;
  /** Through the handler ingestion calls, as a device report arrives. */
  const report = (sn: string, m: Omit<UpgradeProgressMsg, 'sn' | 'ts' | 'type'>) =>
    ingestion.handlers.get('upgrade')!(ctx(sn, { sn, ts: 0, type: 'upgrade', ...m }));
  const reconnect = (sn: string, fw: string) =>
    ingestion.handlers.get('config_request')!(
      ctx(sn, { sn, ts: 0, type: 'config_request', fw, model: 'RJ-C8', lines: 2, io: 'eth' }),
    );
  return { store, runner, ingestion, rejections, report, reconnect, at };
}

describe('UpgradeProgress', () => {
  it('handles upgrade reports and config requests from ingestion', () => {
    const s = setup();
    expect([...s.ingestion.handlers.keys()]).toEqual(['upgrade', 'config_request']);
  });

  it('refuses a report for a command id this serial was not sent', async () => {
    const s = setup();
    s.store.sent(SN, 'u-1');
    await s.report(OTHER, { id: 'u-1', state: 'done', version: '2.0.0' });
    await s.report(SN, { id: 'u-forged', state: 'downloading' });
    expect(s.rejections).toEqual([
      expect.objectContaining({ reason: 'unknown_command', field: 'id' }),
      expect.objectContaining({ reason: 'unknown_command', field: 'id' }),
    ]);
    expect(s.store.get(SN)).toMatchObject({ state: 'sent', lastMessage: null });
  });

  it('follows the stages forward, with progress and the last message', async () => {
    const s = setup();
    s.store.sent(SN, 'u-1');
    await s.report(SN, { id: 'u-1', state: 'downloading' });
    expect(s.store.get(SN)).toMatchObject({ state: 'downloading', progress: 0 });
    expect(s.store.get(SN).ackedAt).toBeInstanceOf(Date);
    await s.report(SN, { id: 'u-1', state: 'downloading', progress: 40 });
    await s.report(SN, { id: 'u-1', state: 'verifying' });
    expect(s.store.get(SN)).toMatchObject({
      state: 'verifying',
      progress: null,
      lastMessage: {
        state: 'verifying',
        progress: null,
        version: null,
        msg: null,
        commandId: 'u-1',
        at: s.at.toISOString(),
      },
    });
    // A late `downloading` does not move it back.
    await s.report(SN, { id: 'u-1', state: 'downloading', progress: 90 });
    expect(s.store.get(SN).state).toBe('verifying');
    await s.report(SN, { id: 'u-1', state: 'installing', progress: 10 });
    expect(s.store.get(SN)).toMatchObject({ state: 'installing', progress: 10 });
  });

  it('done without a version waits for the version in config_request', async () => {
    const s = setup();
    s.store.sent(SN, 'u-1', 'downloading');
    await s.report(SN, { id: 'u-1', state: 'done' });
    expect(s.store.get(SN)).toMatchObject({ state: 'installing', progress: 100 });
    await s.reconnect(SN, '2.0');
    expect(s.store.get(SN)).toMatchObject({
      state: 'done',
      progress: 100,
      reportedVersion: '2.0',
      reason: null,
    });
    expect(s.store.get(SN).finishedAt).toBeInstanceOf(Date);
  });

  it('done with the campaign version is done; with another version, failed', async () => {
    const s = setup();
    s.store.sent(SN, 'u-1');
    s.store.sent(OTHER, 'u-2', 'installing');
    await s.report(SN, { id: 'u-1', state: 'done', version: '2.0.0' });
    await s.report(OTHER, { id: 'u-2', state: 'done', version: '1.9.9' });
    expect(s.store.get(SN)).toMatchObject({ state: 'done', reportedVersion: '2.0.0' });
    expect(s.store.get(OTHER)).toMatchObject({
      state: 'failed',
      reportedVersion: '1.9.9',
      reason: 'device reported done but runs 1.9.9',
    });
  });

  it('failed and rejected carry the device message', async () => {
    const s = setup();
    s.store.sent(SN, 'u-1', 'downloading');
    s.store.sent(OTHER, 'u-2');
    await s.report(SN, { id: 'u-1', state: 'failed', msg: 'sha256 mismatch' });
    await s.report(OTHER, { id: 'u-2', state: 'rejected' });
    expect(s.store.get(SN)).toMatchObject({ state: 'failed', reason: 'device: sha256 mismatch' });
    expect(s.store.get(OTHER)).toMatchObject({
      state: 'rejected',
      reason: 'device reported rejected',
    });
  });

  it('reality wins: a device that runs the version is done even after a timeout', async () => {
    const s = setup();
    s.store.sent(SN, 'u-1', 'failed');
    await s.report(SN, { id: 'u-1', state: 'done', version: '2.0.0' });
    expect(s.store.get(SN).state).toBe('done');
  });

  it('a settled target still records the final word, without changing state', async () => {
    const s = setup();
    s.store.sent(SN, 'u-1', 'done');
    await s.report(SN, { id: 'u-1', state: 'failed', msg: 'late' });
    expect(s.store.get(SN).state).toBe('done');
    expect(s.store.notes).toEqual([
      { sn: SN, message: expect.objectContaining({ state: 'failed', msg: 'late' }) },
    ]);
    // A stage report on a settled target is not recorded.
    await s.report(SN, { id: 'u-1', state: 'downloading' });
    expect(s.store.notes).toHaveLength(1);
  });

  it('a reboot into another version fails an installing target, leaves earlier stages', async () => {
    const s = setup();
    s.store.sent(SN, 'u-1', 'installing');
    s.store.sent(OTHER, 'u-2', 'downloading');
    await s.reconnect(SN, '1.0.0');
    await s.reconnect(OTHER, '1.0.0');
    expect(s.store.get(SN)).toMatchObject({
      state: 'failed',
      reportedVersion: '1.0.0',
      reason: 'rebooted into 1.0.0 instead of 2.0.0',
    });
    expect(s.store.get(OTHER).state).toBe('downloading');
  });

  it('a config request tells the runner the version and wakes it', async () => {
    const s = setup();
    s.store.add({ sn: SN });
    await s.reconnect(SN, '1.2.3');
    expect(s.runner.versions.get(SN)).toBe('1.2.3');
    expect(s.runner.kicks).toBe(1);
    // A queued target (no command yet) is the runner's business, not done by a config request.
    expect(s.store.get(SN).state).toBe('queued');
  });

  it("applies one device's reports in arrival order", async () => {
    const s = setup();
    s.store.sent(SN, 'u-1');
    const order: string[] = [];
    const transition = s.store.transition.bind(s.store);
    s.store.transition = async (key, from, patch, only) => {
      // The first report is slow: the second must still wait for it.
      if (patch.state === 'downloading') await new Promise((r) => setImmediate(r));
      order.push(String(patch.state));
      return transition(key, from, patch, only);
    };
    await Promise.all([
      s.report(SN, { id: 'u-1', state: 'downloading' }),
      s.report(SN, { id: 'u-1', state: 'verifying' }),
    ]);
    expect(order).toEqual(['downloading', 'verifying']);
    expect(s.store.get(SN).state).toBe('verifying');
  });
});
