import { Global, Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { CredentialsController } from './credentials.controller';
import { CredentialsService } from './credentials.service';

/** Global so the concentrators controller can hand out passwords without a module cycle. */
@Global()
@Module({
  imports: [DevicesModule],
  controllers: [CredentialsController],
  providers: [CredentialsService],
  exports: [CredentialsService],
})
export class CredentialsModule {}
