import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Setting } from './setting.entity';
import { ApiToken } from './api-token.entity';
import { Actor } from '../identity/roles';

const BOOTSTRAP_KEY = 'bootstrap_admin_token_sha256';
/** The generated bootstrap token, in DATA_DIR (see saveForOwner). */
export const ADMIN_TOKEN_FILE = 'admin-token';
/** last_used_at is a hint for operators, not an access log: one write a minute per token is enough. */
const LAST_USED_EVERY_MS = 60_000;

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Where the bootstrap admin token came from, for the start-up banner. */
export type BootstrapToken =
  | { source: 'env' }
  | { source: 'generated'; token: string; file?: string }
  | { source: 'stored'; file?: string };

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
export class TokenVerifier implements OnModuleInit {
  private readonly log = new Logger('Auth');
  private bootstrapHash?: Buffer;
  bootstrap: BootstrapToken = { source: 'env' };
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
    const file = join(this.config.dataDir, ADMIN_TOKEN_FILE);
    const stored = await this.settings.findOneBy({ key: BOOTSTRAP_KEY });
    if (stored) {
      this.bootstrapHash = Buffer.from(stored.value, 'hex');
      this.bootstrap = { source: 'stored', file: existsSync(file) ? file : undefined };
      return;
    }
    const token = randomBytes(32).toString('base64url');
    await this.settings.insert({ key: BOOTSTRAP_KEY, value: sha256Hex(token) });
    this.bootstrapHash = Buffer.from(sha256Hex(token), 'hex');
    this.bootstrap = { source: 'generated', token, file: await this.saveForOwner(file, token) };
  }

  /**
   * Like Jenkins' initialAdminPassword: the first token is also left in the
   * data directory, readable by its owner only, so a newcomer's second
   * terminal (and the simulator's --register) can use it. The same directory
   * already holds the embedded database's files and password; an operator who
   * sets ADMIN_TOKEN gets no file.
   */
  private async saveForOwner(file: string, token: string): Promise<string | undefined> {
    try {
      await mkdir(this.config.dataDir, { recursive: true });
      await writeFile(file, token + '\n', { mode: 0o600 });
      return file;
    } catch (err) {
      this.log.warn(`could not save the admin token to ${file}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** The actor of a token, or the reason of a refusal (for the 401 message and the metrics). */
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
