import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiToken } from './api-token.entity';
import { Setting } from './setting.entity';
import { TokenVerifier } from './token-verifier';
import { TokensController } from './tokens.controller';
import { TokensService } from './tokens.service';
import { AuditModule } from '../audit/audit.module';

/** API tokens: the bootstrap admin token, verification on every request, and their admin. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiToken, Setting]), AuditModule],
  controllers: [TokensController],
  providers: [TokenVerifier, TokensService],
  exports: [TokenVerifier],
})
export class TokensModule {}
