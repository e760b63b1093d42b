import { Module } from '@nestjs/common';
import { ConcentratorsModule } from '../concentrators/concentrators.module';
import { BackendIdentity } from './backend-identity';
import { EmqxHooksController } from './emqx-hooks.controller';
import { EmqxHooksService } from './emqx-hooks.service';
import { MosquittoExportController } from './mosquitto-export.controller';
import { MosquittoExportService } from './mosquitto-export.service';

/** External brokers: mosquitto file export and the EMQX HTTP hooks. */
@Module({
  imports: [ConcentratorsModule],
  controllers: [MosquittoExportController, EmqxHooksController],
  providers: [BackendIdentity, MosquittoExportService, EmqxHooksService],
})
export class BrokerModule {}
