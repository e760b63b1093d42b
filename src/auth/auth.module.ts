import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AccessDenials } from './access-denials';
import { isCommandRequest, routeTemplate } from './access-routes';
import { AuthGuard } from './auth.guard';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { RouteTable } from './route-table';
import { TokensModule } from '../tokens/tokens.module';
import { AuditModule } from '../audit/audit.module';
import { MetricsModule } from '../metrics/metrics.module';

@Module({
  imports: [
    TokensModule,
    DiscoveryModule,
    // In-memory storage, so limits are per instance (docs/security.md).
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [
          // blockDuration 0: a sliding window, Retry-After = until the oldest hit expires.
          { name: 'default', ttl: 60_000, limit: config.rateLimit.perMin, blockDuration: 0 },
          {
            name: 'commands',
            ttl: 60_000,
            limit: config.rateLimit.commandsPerMin,
            blockDuration: 0,
            skipIf: (ctx) => {
              const req = ctx.switchToHttp().getRequest<import('express').Request>();
              return !isCommandRequest(req.method, routeTemplate(req));
            },
          },
        ],
      }),
    }),
    AuditModule,
    MetricsModule,
  ],
  providers: [
    AuthFailureLimiter,
    AccessDenials,
    RouteTable,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [RouteTable],
})
export class AuthModule {}
