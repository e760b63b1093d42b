import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AlarmsModule } from './alarms/alarms.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { BrokerModule } from './broker/broker.module';
import { CommandsModule } from './commands/commands.module';
import { AcceptInterceptor } from './common/accept-negotiation';
import { AllExceptionsFilter } from './http/all-exceptions.filter';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { CredentialsModule } from './credentials/credentials.module';
import { DatabaseModule } from './database/database.module';
import { DesiredStateModule } from './desired-state/desired-state.module';
import { ConcentratorsModule } from './concentrators/concentrators.module';
import { EMBEDDED_BROKER_AUTH, EmbeddedBrokerAuth } from './embedded/broker-auth';
import { LiveModule } from './live/live.module';
import { FirmwareModule } from './firmware/firmware.module';
import { ObservabilityModule } from './observability/observability.module';
import { IngestionModule } from './ingestion/ingestion.module';
import { IngestStatsModule } from './ingestion/ingest-stats.module';
import { MetricsModule } from './metrics/metrics.module';
import { MqttModule } from './mqtt/mqtt.module';
import { RejectionsModule } from './ingestion/rejections.module';
import { StreamModule } from './stream/stream.module';
import { TariffsModule } from './tariffs/tariffs.module';
import { TelemetryModule } from './telemetry/telemetry.module';
import { TokensModule } from './tokens/tokens.module';
import { UpgradesModule } from './upgrades/upgrades.module';
import { ENTITIES } from './app-entities';

/**
 * The whole service for a resolved configuration (database and broker URLs
 * known, embedded ones already started). Global pipe and filter are providers
 * so they cover the MQTT handlers as well as HTTP.
 */
@Module({})
export class AppModule {
  /** `runtime.brokerAuth`: the embedded broker's gate, when this process started one. */
  static register(
    config: AppConfig,
    runtime: { brokerAuth?: EmbeddedBrokerAuth } = {},
  ): DynamicModule {
    if (!config.database.url) throw new Error('database URL not resolved');
    return {
      module: AppModule,
      // Global for the configuration alone (and the embedded broker's gate, made from it):
      // every module reads it, and it is fixed before the app is built.
      global: true,
      imports: [
        DatabaseModule.forRoot({
          url: config.database.url,
          poolSize: config.database.poolSize,
          bounds: config.database.bounds,
          entities: ENTITIES,
        }),
        IngestStatsModule,
        MetricsModule,
        LiveModule,
        MqttModule,
        AuthModule,
        TokensModule,
        AuditModule,
        ConcentratorsModule,
        CredentialsModule,
        BrokerModule,
        RejectionsModule,
        IngestionModule,
        TariffsModule,
        TelemetryModule,
        CommandsModule,
        DesiredStateModule,
        ObservabilityModule,
        AlarmsModule,
        StreamModule,
        FirmwareModule,
        UpgradesModule,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: EMBEDDED_BROKER_AUTH, useValue: runtime.brokerAuth ?? null },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
          }),
        },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_INTERCEPTOR, useClass: AcceptInterceptor },
      ],
      exports: [APP_CONFIG, EMBEDDED_BROKER_AUTH],
    };
  }
}
