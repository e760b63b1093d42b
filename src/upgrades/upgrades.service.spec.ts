import { HttpException, NotFoundException } from '@nestjs/common';
import type { AuditInput, AuditService } from '../audit/audit.service';
import type { ConcentratorsService } from '../concentrators/concentrators.service';
import { loadConfig } from '../config/app-config';
import type { Firmware } from '../firmware/firmware.entity';
import type { FirmwareDeletionGuard, FirmwareService } from '../firmware/firmware.service';
import type { Actor } from '../identity/roles';
import type { CreateUpgradeDto } from './dto/upgrade.dto';
import type { UpgradeCampaign } from './entities/upgrade-campaign.entity';
import type { UpgradeTarget } from './entities/upgrade-target.entity';
import type { UpgradeRunner } from './upgrade-runner.service';
import type { NewCampaign, NewTarget, StateCount, UpgradeStore } from './upgrade-store';
import { UpgradesService } from './upgrades.service';

const ADMIN: Actor = { name: 'ops', role: 'admin' };
const SHA = 'c'.repeat(64);
const sn = (i: number) => `2020050100${String(i).padStart(2, '0')}`;
const ext = (over: Partial<CreateUpgradeDto> = {}): CreateUpgradeDto => ({
  url: 'https://fw.example.com/x.bin',
  sha256: SHA.toUpperCase(),
  size: 5,
  version: '2.0.0',
  targets: [sn(1)],
  ...over,
});

/** upgrade_campaigns and upgrade_targets in memory. */
class InMemoryCampaigns {
  readonly campaigns = new Map<string, UpgradeCampaign>();
  readonly targets = new Map<string, UpgradeTarget[]>();
  /** Serials in another running campaign. */
  readonly busySerials = new Set<string>();
  /** Firmware id → running campaign installing it. */
  readonly installing = new Map<string, string>();

  createCampaign(c: NewCampaign, targets: NewTarget[]): Promise<string> {
    const id = `c-${this.campaigns.size + 1}`;
    this.campaigns.set(id, { ...c, id, state: 'running', finishedAt: null });
    this.targets.set(
      id,
      targets.map((t) => ({
        ...t,
        campaignId: id,
        progress: null,
        reportedVersion: null,
        commandId: null,
        commandIds: [],
        attempts: 0,
        lastMessage: null,
        sentAt: null,
        ackedAt: null,
        progressAt: null,
        updatedAt: c.createdAt,
      })),
    );
    return Promise.resolve(id);
  }

  campaign(id: string): Promise<UpgradeCampaign | null> {
    return Promise.resolve(this.campaigns.get(id) ?? null);
  }

  targetsOf(id: string): Promise<UpgradeTarget[]> {
    const rows = [...(this.targets.get(id) ?? [])];
    return Promise.resolve(rows.sort((a, b) => a.sn.localeCompare(b.sn)));
  }

  listCampaigns(q: { limit: number; offset: number }): Promise<[UpgradeCampaign[], number]> {
    const all = [...this.campaigns.values()].reverse();
    return Promise.resolve([all.slice(q.offset, q.offset + q.limit), all.length]);
  }

  stateCounts(ids: string[]): Promise<StateCount[]> {
    const counts: StateCount[] = [];
    for (const id of ids) {
      for (const t of this.targets.get(id) ?? []) {
        const c = counts.find((x) => x.campaignId === id && x.state === t.state);
        if (c) c.n++;
        else counts.push({ campaignId: id, state: t.state, n: 1 });
      }
    }
    return Promise.resolve(counts);
  }

  busy(sns: string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(sns.filter((s) => this.busySerials.has(s))));
  }

  runningCampaignOf(firmwareId: string): Promise<string | null> {
    return Promise.resolve(this.installing.get(firmwareId) ?? null);
  }
}

interface Device {
  sn: string;
  state: string;
  site: string | null;
  fw: string | null;
  model: string | null;
}

class FakeConcentrators {
  readonly devices: Device[] = [];
  add(serial: string, over: Partial<Device> = {}): void {
    this.devices.push({
      sn: serial,
      state: 'managed',
      site: null,
      fw: '1.0.0',
      model: null,
      ...over,
    });
  }
  managedAtSite(site: string): Promise<Device[]> {
    const rows = this.devices.filter((d) => d.site === site && d.state === 'managed');
    return Promise.resolve(rows.sort((a, b) => a.sn.localeCompare(b.sn)));
  }
  bySerials(sns: readonly string[]): Promise<Device[]> {
    return Promise.resolve(this.devices.filter((d) => sns.includes(d.sn)));
  }
}

class FakeFirmware {
  readonly images = new Map<string, Firmware>();
  readonly guards: FirmwareDeletionGuard[] = [];
  publicBaseUrl: string | undefined = 'http://10.0.0.2:3000';

  upload(id: string, version: string, model: string | null = null): void {
    this.images.set(id, {
      id,
      version,
      model,
      sha256: SHA,
      size: 2048,
      filename: 'fw.bin',
      uploadedBy: 'ops',
      uploadedAt: new Date(0),
    });
  }
  get(id: string): Promise<Firmware> {
    const f = this.images.get(id);
    return f ? Promise.resolve(f) : Promise.reject(new NotFoundException('firmware not found'));
  }
  downloadUrl(sha256: string): string | undefined {
    return this.publicBaseUrl && `${this.publicBaseUrl}/firmware/${sha256}`;
  }
  addDeletionGuard(guard: FirmwareDeletionGuard): () => void {
    this.guards.push(guard);
    return () => undefined;
  }
}

class FakeRunner {
  kicks = 0;
  kick(): Promise<void> {
    this.kicks++;
    return Promise.resolve();
  }
}

class FakeAudit {
  readonly entries: AuditInput[] = [];
  record(entry: AuditInput): Promise<void> {
    this.entries.push(entry);
    return Promise.resolve();
  }
}

function setup(env: Record<string, string> = {}) {
  const store = new InMemoryCampaigns();
  const concentrators = new FakeConcentrators();
  const firmware = new FakeFirmware();
  const runner = new FakeRunner();
  const audit = new FakeAudit();
  const config = loadConfig({
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    UPGRADE_DEADLINE_H: '48',
    UPGRADE_HTTP_ALLOW_HOSTS: 'fw.lan',
    ...env,
  });
  const service = new UpgradesService(
    store as unknown as UpgradeStore,
    concentrators as unknown as ConcentratorsService,
    firmware as unknown as FirmwareService,
    runner as unknown as UpgradeRunner,
    audit as unknown as AuditService,
    config,
  );
  service.onModuleInit();
  /** The refusal an attempt ends with: its status and answer body. */
  const refusal = async (dto: CreateUpgradeDto) => {
    const err = await service.create(dto, ADMIN, '10.0.0.9').then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof HttpException)) throw new Error('expected a refusal');
    return { status: err.getStatus(), body: err.getResponse(), message: err.message };
  };
  return { service, store, concentrators, firmware, runner, audit, refusal };
}

describe('UpgradesService', () => {
  describe('planning a campaign', () => {
    it('queues eligible targets and keeps the others as skipped, with the reason', async () => {
      const s = setup();
      s.concentrators.add(sn(1), { fw: '1.0.0' });
      s.concentrators.add(sn(2), { fw: '3.0.0' });
      s.concentrators.add(sn(3), { fw: '2.0' });
      s.concentrators.add(sn(4), { fw: '1.0.0' });
      s.concentrators.add(sn(5), { fw: null });
      s.store.busySerials.add(sn(4));
      const view = await s.service.create(
        ext({ targets: [sn(5), sn(1), sn(2), sn(3), sn(4), sn(1)] }),
        ADMIN,
      );
      const targets = s.store.targets.get(view.id)!;
      // The request's order, each serial once.
      expect(targets.map((t) => [t.sn, t.state, t.fromVersion])).toEqual([
        [sn(5), 'queued', null],
        [sn(1), 'queued', '1.0.0'],
        [sn(2), 'skipped', '3.0.0'],
        [sn(3), 'skipped', '2.0'],
        [sn(4), 'skipped', '1.0.0'],
      ]);
      expect(targets.map((t) => t.reason)).toEqual([
        null,
        null,
        'downgrade refused: device runs 3.0.0, campaign version 2.0.0 (set allowDowngrade to force)',
        'device already runs 2.0 (set allowDowngrade to reinstall)',
        'device is in another running upgrade campaign',
      ]);
      const created = s.store.campaigns.get(view.id)!;
      expect(targets.map((t) => t.finishedAt)).toEqual([
        null,
        null,
        created.createdAt,
        created.createdAt,
        created.createdAt,
      ]);
      expect(view.totals).toMatchObject({ queued: 2, skipped: 3, total: 5 });
      expect(view.targets.map((t) => t.sn)).toEqual([sn(1), sn(2), sn(3), sn(4), sn(5)]);
    });

    it('records the source, the creator and the deadline', async () => {
      const s = setup();
      s.concentrators.add(sn(1));
      const view = await s.service.create(ext({ deadlineH: 0.5 }), ADMIN);
      expect(s.store.campaigns.get(view.id)).toMatchObject({
        firmwareId: null,
        url: 'https://fw.example.com/x.bin',
        sha256: SHA,
        size: 5,
        version: '2.0.0',
        model: null,
        allowDowngrade: false,
        site: null,
        createdBy: 'ops',
        createdByRole: 'admin',
        state: 'running',
      });
      expect(Date.parse(view.deadlineAt) - Date.parse(view.createdAt)).toBe(1800_000);
      const byDefault = await s.service.create(ext(), null);
      expect(Date.parse(byDefault.deadlineAt) - Date.parse(byDefault.createdAt)).toBe(
        48 * 3600_000,
      );
      expect(s.store.campaigns.get(byDefault.id)).toMatchObject({
        createdBy: 'anonymous',
        createdByRole: null,
      });
    });

    it('audits the campaign with its totals and skips, and wakes the runner', async () => {
      const s = setup();
      s.concentrators.add(sn(1));
      s.concentrators.add(sn(2), { fw: '2.0.0' });
      const view = await s.service.create(ext({ targets: [sn(1), sn(2)] }), ADMIN, '10.0.0.9');
      expect(s.runner.kicks).toBe(1);
      expect(s.audit.entries).toEqual([
        {
          actor: ADMIN,
          action: 'upgrade.create',
          target: view.id,
          outcome: 'ok',
          statusCode: 201,
          ip: '10.0.0.9',
          detail: expect.objectContaining({
            url: 'https://fw.example.com/x.bin',
            targets: { count: 2 },
            allowDowngrade: false,
            totals: expect.objectContaining({ queued: 1, skipped: 1, total: 2 }),
            skipped: [{ sn: sn(2), reason: expect.stringMatching(/already runs/) }],
          }),
        },
      ]);
    });

    it('allowDowngrade installs an older or the same version', async () => {
      const s = setup();
      s.concentrators.add(sn(1), { fw: '3.0.0' });
      s.concentrators.add(sn(2), { fw: '2.0.0' });
      const view = await s.service.create(
        ext({ targets: [sn(1), sn(2)], allowDowngrade: true }),
        ADMIN,
      );
      expect(view.totals).toMatchObject({ queued: 2, skipped: 0 });
      expect(s.store.campaigns.get(view.id)!.allowDowngrade).toBe(true);
    });

    it('409 with every target and its reason when none is eligible; nothing stored', async () => {
      const s = setup();
      s.concentrators.add(sn(1), { fw: '2.0.0' });
      s.concentrators.add(sn(2), { fw: '1.0.0' });
      s.store.busySerials.add(sn(2));
      const r = await s.refusal(ext({ targets: [sn(1), sn(2)] }));
      expect(r.status).toBe(409);
      expect(r.body).toEqual({
        message: 'no target is eligible for this upgrade',
        targets: [
          {
            sn: sn(1),
            fw: '2.0.0',
            reason: 'already_current',
            detail: expect.stringMatching(/already runs/),
          },
          { sn: sn(2), fw: '1.0.0', reason: 'busy', detail: expect.stringMatching(/another/) },
        ],
      });
      expect(s.store.campaigns.size).toBe(0);
      expect(s.runner.kicks).toBe(0);
      expect(s.audit.entries).toEqual([
        expect.objectContaining({
          outcome: 'refused',
          statusCode: 409,
          detail: expect.objectContaining({
            error: 'no target is eligible for this upgrade',
            refusal: r.body,
          }),
        }),
      ]);
    });

    it('a model mismatch with the uploaded image skips the target', async () => {
      const s = setup();
      s.firmware.upload('f-1', '2.0.0', 'RJ-C8');
      s.concentrators.add(sn(1), { model: 'rj-c8' });
      s.concentrators.add(sn(2), { model: 'RJ-C4' });
      const view = await s.service.create({ firmwareId: 'f-1', targets: [sn(1), sn(2)] }, ADMIN);
      expect(s.store.targets.get(view.id)!.map((t) => [t.sn, t.state, t.reason])).toEqual([
        [sn(1), 'queued', null],
        [sn(2), 'skipped', 'firmware is for model RJ-C8, device is RJ-C4'],
      ]);
    });
  });

  describe('targets', () => {
    it('a site means its managed concentrators', async () => {
      const s = setup();
      s.concentrators.add(sn(3), { site: 'north' });
      s.concentrators.add(sn(1), { site: 'north' });
      s.concentrators.add(sn(2), { site: 'north', state: 'pending' });
      s.concentrators.add(sn(4), { site: 'south' });
      const view = await s.service.create(ext({ targets: { site: 'north' } }), ADMIN);
      expect(view.targets.map((t) => t.sn)).toEqual([sn(1), sn(3)]);
      expect(view.site).toBe('north');
    });

    it('400 for a site without managed concentrators', async () => {
      const s = setup();
      s.concentrators.add(sn(1), { site: 'north', state: 'pending' });
      const r = await s.refusal(ext({ targets: { site: 'north' } }));
      expect(r).toMatchObject({
        status: 400,
        message: 'no managed concentrator at site north',
      });
    });

    it('400 listing unknown and pending serials', async () => {
      const s = setup();
      s.concentrators.add(sn(1));
      s.concentrators.add(sn(2), { state: 'pending' });
      const r = await s.refusal(ext({ targets: [sn(1), sn(2), sn(3)] }));
      expect(r.status).toBe(400);
      expect(r.body).toEqual({
        message: `targets must be managed concentrators; unknown: [${sn(3)}], pending: [${sn(2)}]`,
        unknown: [sn(3)],
        pending: [sn(2)],
      });
      expect(s.audit.entries[0]).toMatchObject({ outcome: 'refused', statusCode: 400 });
    });
  });

  describe('sources', () => {
    it.each<[string, Partial<CreateUpgradeDto>, RegExp]>([
      ['both sources', { firmwareId: 'f-1' }, /either firmwareId or/],
      ['no source', { url: undefined, sha256: undefined, size: undefined }, /give firmwareId/],
      ['a missing field', { size: undefined, version: undefined }, /needs size, version/],
      ['a bad version label', { version: 'v 1' }, /version/],
      ['plain http to a host not allowed', { url: 'http://fw.example.com/x' }, /ALLOW_HOSTS/],
      ['a bad digest', { sha256: 'xyz' }, /sha256 must be 64 hex digits/],
      ['a bad size', { size: 1.5 }, /size must be a positive integer/],
    ])('400 for %s', async (_name, over, message) => {
      const s = setup();
      s.concentrators.add(sn(1));
      const r = await s.refusal(ext(over));
      expect(r.status).toBe(400);
      expect(r.message).toMatch(message);
      expect(s.store.campaigns.size).toBe(0);
    });

    it('accepts plain http for an allowed host', async () => {
      const s = setup();
      s.concentrators.add(sn(1));
      const view = await s.service.create(ext({ url: 'http://fw.lan/x.bin' }), ADMIN);
      expect(view.url).toBe('http://fw.lan/x.bin');
    });

    it('an uploaded image is served by this backend at PUBLIC_BASE_URL', async () => {
      const s = setup();
      s.firmware.upload('f-1', '2.0.0');
      s.concentrators.add(sn(1));
      const view = await s.service.create({ firmwareId: 'f-1', targets: [sn(1)] }, ADMIN);
      expect(view).toMatchObject({
        firmwareId: 'f-1',
        url: `http://10.0.0.2:3000/firmware/${SHA}`,
        sha256: SHA,
        size: 2048,
        version: '2.0.0',
      });
    });

    it('400 for an unknown image, a version it does not have, or no PUBLIC_BASE_URL', async () => {
      const s = setup();
      s.firmware.upload('f-1', '2.0.0');
      s.concentrators.add(sn(1));
      const unknown = await s.refusal({ firmwareId: 'f-2', targets: [sn(1)] });
      expect(unknown).toMatchObject({ status: 400, message: 'unknown firmwareId f-2' });
      const other = await s.refusal({ firmwareId: 'f-1', version: '2.0.1', targets: [sn(1)] });
      expect(other.message).toMatch(/does not match the image's version 2\.0\.0/);
      s.firmware.publicBaseUrl = undefined;
      const unreachable = await s.refusal({ firmwareId: 'f-1', targets: [sn(1)] });
      expect(unreachable.message).toMatch(/PUBLIC_BASE_URL is not set/);
    });
  });

  it('reads a campaign with its targets; 404 for an unknown one', async () => {
    const s = setup();
    s.concentrators.add(sn(1));
    const { id } = await s.service.create(ext(), ADMIN);
    await expect(s.service.get(id)).resolves.toMatchObject({
      id,
      targets: [{ sn: sn(1), state: 'queued', attempts: 0, lastMessage: null }],
    });
    await expect(s.service.get('nope')).rejects.toBeInstanceOf(NotFoundException);
  });

  it('lists campaigns, newest first, with totals per state', async () => {
    const s = setup();
    s.concentrators.add(sn(1));
    s.concentrators.add(sn(2), { fw: '2.0.0' });
    const a = await s.service.create(ext({ targets: [sn(1), sn(2)] }), ADMIN);
    const b = await s.service.create(ext({ version: '2.1.0', targets: [sn(2)] }), ADMIN);
    const page = await s.service.list({ limit: 10, offset: 0 });
    expect(page).toMatchObject({ total: 2, limit: 10, offset: 0 });
    expect(
      page.items.map((c) => [c.id, c.totals.queued, c.totals.skipped, c.totals.total]),
    ).toEqual([
      [b.id, 1, 0, 1],
      [a.id, 1, 1, 2],
    ]);
  });

  it('vetoes deleting an image a running campaign installs', async () => {
    const s = setup();
    expect(s.firmware.guards).toHaveLength(1);
    const [guard] = s.firmware.guards;
    s.store.installing.set('f-1', 'c-9');
    await expect(guard('f-1')).resolves.toBe('campaign c-9 is still installing this image');
    await expect(guard('f-2')).resolves.toBeNull();
  });

  it('reports a failure of its own as failed, not refused', async () => {
    const s = setup();
    s.concentrators.add(sn(1));
    s.store.createCampaign = () => Promise.reject(new Error('connection lost'));
    await expect(s.service.create(ext(), ADMIN)).rejects.toThrow('connection lost');
    expect(s.audit.entries).toEqual([
      expect.objectContaining({ outcome: 'failed', statusCode: 500 }),
    ]);
  });
});
