import { Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { CredentialsModule } from '../credentials/credentials.module';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { BackendIdentity } from './backend-identity';
import { DeviceGate } from './device-gate';
import { EmqxHooksController } from './emqx-hooks.controller';
import { EmqxHooksService } from './emqx-hooks.service';
import { MosquittoExportController } from './mosquitto-export.controller';
import { MosquittoExportService } from './mosquitto-export.service';
import { MetricsModule } from '../metrics/metrics.module';

/** External brokers: mosquitto file export and the EMQX HTTP hooks. */
@Module({
  imports: [ConcentratorsModule, CredentialsModule, LifecycleModule, MetricsModule],
  controllers: [MosquittoExportController, EmqxHooksController],
  providers: [BackendIdentity, DeviceGate, MosquittoExportService, EmqxHooksService],
})
export class BrokerModule {}
