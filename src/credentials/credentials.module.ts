import { Global, Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { CredentialsController } from './credentials.controller';
import { CredentialsService } from './credentials.service';

/** Global so the concentrators controller can hand out passwords without a module cycle. */
@Global()
@Module({
  imports: [ConcentratorsModule],
  controllers: [CredentialsController],
  providers: [CredentialsService],
  exports: [CredentialsService],
})
export class CredentialsModule {}
