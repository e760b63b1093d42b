import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { Page, PaginationQuery } from '../common/pagination.dto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { FirmwareView, UploadFirmwareDto } from './dto/firmware.dto';
import { FirmwareBlobStore, IncomingImage } from './firmware-blob-store';
import { Firmware } from './firmware.entity';
import { firmwareDownloadPath, firmwareDownloadUrl } from './firmware-rules';

/**
 * A veto on deleting an image, plugged in by a module above firmware (upgrades:
 * a running campaign installs it). Resolves to the refusal (answered 409), or
 * null to let the deletion go ahead.
 */
export type FirmwareDeletionGuard = (firmwareId: string) => Promise<string | null>;

export interface RegisterResult {
  firmware: Firmware;
  /** false: the very same image and labels were stored already (an idempotent retry). */
  created: boolean;
}

/** Uploaded images: metadata in the database, bytes in the content-addressed store. */
@Injectable()
export class FirmwareService implements OnModuleInit {
  private readonly deletionGuards = new Set<FirmwareDeletionGuard>();

  constructor(
    @InjectRepository(Firmware) private readonly repo: Repository<Firmware>,
    private readonly store: FirmwareBlobStore,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.store.init();
  }

  /** Read on each use: tests (and future reloads) may set it after boot. */
  downloadUrl(sha256: string): string | undefined {
    return firmwareDownloadUrl(this.config.http.publicBaseUrl, sha256);
  }

  toView(f: Firmware): FirmwareView {
    return {
      id: f.id,
      version: f.version,
      model: f.model,
      sha256: f.sha256,
      size: f.size,
      filename: f.filename,
      uploadedBy: f.uploadedBy,
      uploadedAt: f.uploadedAt.toISOString(),
      path: firmwareDownloadPath(f.sha256),
      url: this.downloadUrl(f.sha256) ?? null,
    };
  }

  /**
   * Files an uploaded image. The same bytes under the same labels again is an
   * idempotent retry (the first record, created = false); the same bytes under
   * another version, or another image under a stored (version, model), is a
   * conflict: a version label must name exactly one image.
   */
  async register(
    image: IncomingImage,
    dto: UploadFirmwareDto,
    actor: Actor | null,
    ip?: string,
  ): Promise<RegisterResult> {
    const model = dto.model ?? null;
    try {
      if (image.size === 0) throw new BadRequestException('the image is empty');
      const sameBytes = await this.repo.findBy({ sha256: image.sha256 });
      const same = sameBytes.find((f) => f.version === dto.version && f.model === model);
      if (same) {
        await this.store.discard(image.path);
        await this.auditUpload(actor, ip, same, image, false);
        return { firmware: same, created: false };
      }
      const relabel = sameBytes.find((f) => f.version !== dto.version);
      if (relabel) {
        throw new ConflictException(
          `this image is already stored as version ${relabel.version} (firmware ${relabel.id})`,
        );
      }
      const taken = await this.repo
        .createQueryBuilder('f')
        .where('f.version = :version', { version: dto.version })
        .andWhere('f.model IS NOT DISTINCT FROM :model', { model })
        .getOne();
      if (taken) {
        throw new ConflictException(
          `version ${dto.version}${model ? ` for model ${model}` : ''} is already stored with another image (firmware ${taken.id}); delete it first`,
        );
      }
      const blobWasNew = !(await this.store.exists(image.sha256, image.size));
      await this.store.commit(image);
      let saved: Firmware;
      try {
        saved = await this.repo.save(
          this.repo.create({
            version: dto.version,
            model,
            sha256: image.sha256,
            size: image.size,
            filename: sanitiseFilename(image.originalname),
            uploadedBy: actor?.name ?? 'anonymous',
          }),
        );
      } catch (err) {
        if (blobWasNew) await this.removeBlobIfUnused(image.sha256);
        if (
          err instanceof QueryFailedError &&
          (err.driverError as { code?: string }).code === '23505'
        ) {
          throw new ConflictException(`version ${dto.version} was stored concurrently`);
        }
        throw err;
      }
      await this.auditUpload(actor, ip, saved, image, true);
      return { firmware: saved, created: true };
    } finally {
      await this.store.discard(image.path);
    }
  }

  private auditUpload(
    actor: Actor | null,
    ip: string | undefined,
    f: Firmware,
    image: IncomingImage,
    created: boolean,
  ) {
    return this.audit.record({
      actor,
      action: 'firmware.upload',
      target: f.id,
      outcome: 'ok',
      statusCode: created ? 201 : 200,
      ip,
      detail: {
        version: f.version,
        model: f.model,
        sha256: f.sha256,
        size: f.size,
        filename: f.filename,
        reused: !created,
      },
    });
  }

  async list(q: PaginationQuery): Promise<Page<FirmwareView>> {
    const [rows, total] = await this.repo.findAndCount({
      order: { uploadedAt: 'DESC', id: 'ASC' },
      take: q.limit,
      skip: q.offset,
    });
    return { items: rows.map((f) => this.toView(f)), total, limit: q.limit, offset: q.offset };
  }

  async get(id: string): Promise<Firmware> {
    const f = await this.repo.findOneBy({ id });
    if (!f) throw new NotFoundException('firmware not found');
    return f;
  }

  /** Served to devices only while some record names the digest. */
  async servable(sha256: string): Promise<Firmware | null> {
    return this.repo.findOne({ where: { sha256 }, order: { uploadedAt: 'ASC' } });
  }

  get blobDir(): string {
    return this.store.dir;
  }

  /** Asks `guard` before every deletion; returns its removal. */
  addDeletionGuard(guard: FirmwareDeletionGuard): () => void {
    this.deletionGuards.add(guard);
    return () => this.deletionGuards.delete(guard);
  }

  /** Refused (409) while a deletion guard objects, e.g. a running campaign installs it. */
  async remove(id: string, actor: Actor | null, ip?: string): Promise<void> {
    const f = await this.repo.findOneBy({ id });
    try {
      if (!f) throw new NotFoundException('firmware not found');
      for (const guard of this.deletionGuards) {
        const refusal = await guard(id);
        if (refusal) throw new ConflictException(refusal);
      }
      await this.repo.delete({ id });
      await this.removeBlobIfUnused(f.sha256);
      await this.audit.record({
        actor,
        action: 'firmware.delete',
        target: id,
        outcome: 'ok',
        ip,
        detail: { version: f.version, model: f.model, sha256: f.sha256 },
      });
    } catch (err) {
      const status = (err as { getStatus?: () => number }).getStatus?.();
      await this.audit.record({
        actor,
        action: 'firmware.delete',
        target: id,
        outcome: status && status < 500 ? 'refused' : 'failed',
        statusCode: status,
        ip,
        detail: { error: (err as Error).message },
      });
      throw err;
    }
  }

  private async removeBlobIfUnused(sha256: string): Promise<void> {
    if ((await this.repo.countBy({ sha256 })) === 0) await this.store.remove(sha256);
  }
}

/** Kept for display only: printable, no path, bounded. */
function sanitiseFilename(name: string | undefined): string | null {
  if (!name) return null;
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[^\x20-\x7e]/g, '_').slice(0, 255);
  return clean || null;
}
