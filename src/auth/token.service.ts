import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Setting } from '../database/setting.entity';
import { Actor } from './roles';

const BOOTSTRAP_KEY = 'bootstrap_admin_token_sha256';

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * Resolves bearer tokens to actors. The bootstrap admin token comes from
 * ADMIN_TOKEN, or is generated at first start, printed once and kept only as
 * a hash. (High-entropy random tokens make a fast hash sufficient here.)
 */
@Injectable()
export class TokenService implements OnModuleInit {
  private readonly log = new Logger('Auth');
  private bootstrapHash?: Buffer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectRepository(Setting) private readonly settings: Repository<Setting>,
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
    const h = Buffer.from(sha256Hex(token), 'hex');
    if (this.bootstrapHash && timingSafeEqual(h, this.bootstrapHash)) {
      return { name: 'bootstrap-admin', role: 'admin' };
    }
    return null;
  }
}
