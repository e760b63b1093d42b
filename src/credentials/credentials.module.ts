import { Module } from '@nestjs/common';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { CredentialsController } from './credentials.controller';
import { CredentialsService } from './credentials.service';
import { AuditModule } from '../audit/audit.module';

@Module({
  imports: [LifecycleModule, AuditModule],
  controllers: [CredentialsController],
  providers: [CredentialsService],
  exports: [CredentialsService],
})
export class CredentialsModule {}
