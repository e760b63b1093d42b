import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Setting } from '../database/setting.entity';
import { ApiToken } from '../tokens/api-token.entity';
import { Actor } from './roles';

const BOOTSTRAP_KEY = 'bootstrap_admin_token_sha256';
/** last_used_at is a hint for operators, not an access log: one write a minute per token is enough. */
const LAST_USED_EVERY_MS = 60_000;

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export type TokenCheck =
  { ok: true; actor: Actor } | { ok: false; reason: 'invalid' | 'expired' | 'revoked' };

/**
 * Resolves bearer tokens to actors: the bootstrap admin token (ADMIN_TOKEN, or
 * generated at first start, printed once, kept only as a hash) and the tokens
 * of the api_tokens table.
 *
 * A plain SHA-256 is enough because every token is high-entropy random (32
 * bytes): a slow password hash protects guessable secrets, and there is
 * nothing to guess here. It also makes the lookup a unique-index hit, done on
 * every request without a cache, so a revocation takes effect on the next
 * request, in every instance.
 */
@Injectable()
export class TokenService implements OnModuleInit {
  private readonly log = new Logger('Auth');
  private bootstrapHash?: Buffer;
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectRepository(Setting) private readonly settings: Repository<Setting>,
    @InjectRepository(ApiToken) private readonly tokens: Repository<ApiToken>,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.adminToken) {
      this.bootstrapHash = Buffer.from(sha256Hex(this.config.adminToken), 'hex');
      return;
    }
    const stored = await this.settings.findOneBy({ key: BOOTSTRAP_KEY });
    if (stored) {
      this.bootstrapHash = Buffer.from(stored.value, 'hex');
      this.log.log(
        'using the generated admin token from the first start (set ADMIN_TOKEN to choose one)',
      );
      return;
    }
    const token = randomBytes(32).toString('base64url');
    await this.settings.insert({ key: BOOTSTRAP_KEY, value: sha256Hex(token) });
    this.bootstrapHash = Buffer.from(sha256Hex(token), 'hex');
    this.log.warn(
      `\n\n  Generated admin token (shown once, stored only as a hash):\n\n    ${token}\n\n` +
        `  Use it as "Authorization: Bearer <token>" (Swagger: Authorize button).\n`,
    );
  }

  async verify(token: string): Promise<Actor | null> {
    const r = await this.check(token);
    return r.ok ? r.actor : null;
  }

  /** Like verify, with the reason of a refusal (for the 401 message and the metrics). */
  async check(token: string): Promise<TokenCheck> {
    const hex = sha256Hex(token);
    if (this.bootstrapHash && timingSafeEqual(Buffer.from(hex, 'hex'), this.bootstrapHash)) {
      return { ok: true, actor: { name: 'bootstrap-admin', role: 'admin' } };
    }
    const row = await this.tokens.findOne({
      where: { tokenHash: hex },
      select: { id: true, name: true, role: true, expiresAt: true, revokedAt: true },
    });
    if (!row) return { ok: false, reason: 'invalid' };
    if (row.revokedAt) return { ok: false, reason: 'revoked' };
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      return { ok: false, reason: 'expired' };
    }
    this.touch(row.id);
    return { ok: true, actor: { name: actorName(row), role: row.role, tokenId: row.id } };
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(id) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(id, now);
    // The WHERE keeps several instances from all writing within the same minute.
    void this.tokens
      .createQueryBuilder()
      .update()
      .set({ lastUsedAt: () => 'now()' })
      .where('id = :id', { id })
      .andWhere(`(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`)
      .execute()
      .catch((err: Error) => this.log.warn(`could not record token use: ${err.message}`));
  }
}

/** Names are not unique (rotation overlaps); the id prefix tells audit rows apart. */
export function actorName(t: Pick<ApiToken, 'id' | 'name'>): string {
  return `${t.name}#${t.id.slice(0, 8)}`;
}
