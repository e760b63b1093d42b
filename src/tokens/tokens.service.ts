import { randomBytes } from 'node:crypto';
import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { sha256Hex } from './token-verifier';
import { ApiToken } from './api-token.entity';
import {
  CreateTokenDto,
  ListTokensQuery,
  TokenCreatedView,
  TokenPage,
  TokenView,
} from './dto/token.dto';

/** Recognisable by secret scanners and in logs; the rest is 32 random bytes (256 bits). */
export const TOKEN_PREFIX = 'bcb_';
const SHOWN_PREFIX_LEN = TOKEN_PREFIX.length + 4;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function toTokenView(t: ApiToken, now = Date.now()): TokenView {
  const expired = t.expiresAt !== null && t.expiresAt.getTime() <= now;
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    prefix: t.tokenPrefix,
    createdAt: t.createdAt.toISOString(),
    createdBy: t.createdBy,
    expiresAt: t.expiresAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    revoked: t.revokedAt !== null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    revokedBy: t.revokedBy,
    active: t.revokedAt === null && !expired,
  };
}

/** Issuing, listing and revoking API tokens (admin); verification lives in TokenVerifier. */
@Injectable()
export class TokensService {
  constructor(
    @InjectRepository(ApiToken) private readonly repo: Repository<ApiToken>,
    private readonly audit: AuditService,
  ) {}

  async create(dto: CreateTokenDto, actor: Actor, ip?: string): Promise<TokenCreatedView> {
    let expiresAt: Date | null = null;
    if (dto.expiresAt !== undefined) {
      expiresAt = new Date(dto.expiresAt);
      if (expiresAt.getTime() <= Date.now()) {
        throw new BadRequestException('expiresAt must lie in the future');
      }
    }
    const token = generateToken();
    const saved = await this.repo.save(
      this.repo.create({
        name: dto.name,
        role: dto.role,
        tokenHash: sha256Hex(token),
        tokenPrefix: token.slice(0, SHOWN_PREFIX_LEN),
        createdBy: actor.name,
        expiresAt,
      }),
    );
    const row = await this.repo.findOneByOrFail({ id: saved.id });
    await this.audit.record({
      actor,
      action: 'token.create',
      target: row.id,
      outcome: 'ok',
      statusCode: 201,
      detail: { name: row.name, role: row.role, expiresAt: row.expiresAt?.toISOString() ?? null },
      ip,
    });
    return { ...toTokenView(row), token };
  }

  async list(q: ListTokensQuery): Promise<TokenPage> {
    const [rows, total] = await this.repo.findAndCount({
      order: { createdAt: 'DESC', id: 'ASC' },
      take: q.limit,
      skip: q.offset,
    });
    const now = Date.now();
    return { items: rows.map((r) => toTokenView(r, now)), total, limit: q.limit, offset: q.offset };
  }

  /** Idempotent: revoking a revoked token keeps the first revocation time. */
  async revoke(id: string, actor: Actor, ip?: string): Promise<void> {
    const row = UUID_RE.test(id) ? await this.repo.findOneBy({ id }) : null;
    if (!row) throw new NotFoundException('unknown token');
    if (row.revokedAt) return;
    await this.repo
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()', revokedBy: actor.name })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
    await this.audit.record({
      actor,
      action: 'token.revoke',
      target: id,
      outcome: 'ok',
      statusCode: 204,
      detail: { name: row.name, role: row.role },
      ip,
    });
  }
}
