import { ConflictException, NotFoundException } from '@nestjs/common';
import type { Repository } from 'typeorm';
import type { AuditInput, AuditService } from '../audit/audit.service';
import { loadConfig } from '../config/app-config';
import type { Actor } from '../identity/roles';
import type { FirmwareBlobStore } from './firmware-blob-store';
import { Firmware } from './firmware.entity';
import { FirmwareService } from './firmware.service';

const ADMIN: Actor = { name: 'ops', role: 'admin' };
const SHA = 'd'.repeat(64);

/** The firmware table in memory: the calls remove() makes. */
class InMemoryFirmware {
  readonly rows: Firmware[] = [];
  add(id: string, sha256 = SHA): void {
    this.rows.push(
      Object.assign(new Firmware(), {
        id,
        version: `1.0.${this.rows.length}`,
        model: null,
        sha256,
        size: 10,
        filename: 'fw.bin',
        uploadedBy: 'ops',
        uploadedAt: new Date(0),
      }),
    );
  }
  findOneBy(where: { id: string }): Promise<Firmware | null> {
    return Promise.resolve(this.rows.find((f) => f.id === where.id) ?? null);
  }
  delete(where: { id: string }): Promise<{ affected: number }> {
    const i = this.rows.findIndex((f) => f.id === where.id);
    if (i >= 0) this.rows.splice(i, 1);
    return Promise.resolve({ affected: i >= 0 ? 1 : 0 });
  }
  countBy(where: { sha256: string }): Promise<number> {
    return Promise.resolve(this.rows.filter((f) => f.sha256 === where.sha256).length);
  }
}

class FakeBlobs {
  readonly removed: string[] = [];
  readonly dir = '/nowhere';
  remove(sha256: string): Promise<void> {
    this.removed.push(sha256);
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

function setup() {
  const repo = new InMemoryFirmware();
  const blobs = new FakeBlobs();
  const audit = new FakeAudit();
  const service = new FirmwareService(
    repo as unknown as Repository<Firmware>,
    blobs as unknown as FirmwareBlobStore,
    audit as unknown as AuditService,
    loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x' }),
  );
  return { repo, blobs, audit, service };
}

describe('FirmwareService.remove and its deletion guards', () => {
  it('deletes the record, and the bytes once no record names them', async () => {
    const s = setup();
    s.repo.add('f-1');
    s.repo.add('f-2');
    await s.service.remove('f-1', ADMIN, '10.0.0.9');
    expect(s.blobs.removed).toEqual([]);
    await s.service.remove('f-2', ADMIN);
    expect(s.repo.rows).toEqual([]);
    expect(s.blobs.removed).toEqual([SHA]);
    expect(s.audit.entries[0]).toMatchObject({
      actor: ADMIN,
      action: 'firmware.delete',
      target: 'f-1',
      outcome: 'ok',
      ip: '10.0.0.9',
      detail: { version: '1.0.0', model: null, sha256: SHA },
    });
  });

  it("answers 409 with a guard's refusal, keeps the image, and audits the refusal", async () => {
    const s = setup();
    s.repo.add('f-1');
    const asked: string[] = [];
    s.service.addDeletionGuard((id) => {
      asked.push(id);
      return Promise.resolve(id === 'f-1' ? 'campaign c-1 is still installing this image' : null);
    });
    const err = await s.service.remove('f-1', ADMIN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictException);
    expect((err as ConflictException).message).toBe('campaign c-1 is still installing this image');
    expect(asked).toEqual(['f-1']);
    expect(s.repo.rows.map((f) => f.id)).toEqual(['f-1']);
    expect(s.blobs.removed).toEqual([]);
    expect(s.audit.entries).toEqual([
      expect.objectContaining({
        action: 'firmware.delete',
        target: 'f-1',
        outcome: 'refused',
        statusCode: 409,
        detail: { error: 'campaign c-1 is still installing this image' },
      }),
    ]);
  });

  it('asks every guard; any refusal stops the deletion', async () => {
    const s = setup();
    s.repo.add('f-1');
    s.service.addDeletionGuard(() => Promise.resolve(null));
    s.service.addDeletionGuard(() => Promise.resolve('in use'));
    await expect(s.service.remove('f-1', null)).rejects.toThrow('in use');
    expect(s.repo.rows).toHaveLength(1);
  });

  it('a removed guard is no longer asked', async () => {
    const s = setup();
    s.repo.add('f-1');
    const unregister = s.service.addDeletionGuard(() => Promise.resolve('in use'));
    unregister();
    await s.service.remove('f-1', null);
    expect(s.repo.rows).toEqual([]);
  });

  it('404 for an unknown image, before any guard is asked', async () => {
    const s = setup();
    let asked = false;
    s.service.addDeletionGuard(() => {
      asked = true;
      return Promise.resolve(null);
    });
    await expect(s.service.remove('f-9', null)).rejects.toBeInstanceOf(NotFoundException);
    expect(asked).toBe(false);
    expect(s.audit.entries[0]).toMatchObject({ outcome: 'refused', statusCode: 404 });
  });

  it('a guard that fails makes the deletion fail (500), not pass', async () => {
    const s = setup();
    s.repo.add('f-1');
    s.service.addDeletionGuard(() => Promise.reject(new Error('database down')));
    await expect(s.service.remove('f-1', null)).rejects.toThrow('database down');
    expect(s.repo.rows).toHaveLength(1);
    expect(s.audit.entries[0]).toMatchObject({ outcome: 'failed' });
  });
});
