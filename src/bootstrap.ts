import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { json, urlencoded } from 'express';
import { AppModule } from './app.module';
import { applyHttpSecurity } from './http/http-security';
import { APP_CONFIG, AppConfig, loadConfig } from './config/app-config';
import { emqxHookBodyParser } from './broker/emqx-body';
import { EmbeddedBrokerAuth } from './embedded/broker-auth';
import { startEmbeddedBroker } from './embedded/embedded-broker';
import { startEmbeddedPostgres } from './embedded/embedded-postgres';
import { assertPortFree } from './embedded/port-check';
import { AppLogger } from './logging/app-logger';
import { FromdevMqttServer } from './mqtt/fromdev-server';
import { installInputRules } from './http/input-rules';
import { setupSwagger } from './http/swagger';

export interface Infrastructure {
  config: AppConfig;
  embedded: { postgres: boolean; broker: boolean };
  /** The embedded broker's gate, for the app to install device checks into. */
  brokerAuth?: EmbeddedBrokerAuth;
  stop(): Promise<void>;
}

/**
 * The embedded broker always authenticates. The backend's own user is the
 * configured one, or `admin_client` with a random password made for this run
 * (nobody else needs it: the backend is the only client using it).
 */
function embeddedBrokerAuth(config: AppConfig): EmbeddedBrokerAuth {
  return new EmbeddedBrokerAuth({
    topicRoot: config.mqtt.topicRoot,
    backend: {
      username: config.mqtt.username ?? 'admin_client',
      password: config.mqtt.password ?? randomBytes(24).toString('base64url'),
    },
    backendPasswordGenerated: config.mqtt.password === undefined,
  });
}

/**
 * Fills in what is not configured: no DATABASE_URL starts an embedded
 * PostgreSQL, no MQTT_URL an embedded broker. The returned config has both URLs.
 */
export async function startInfrastructure(config: AppConfig): Promise<Infrastructure> {
  const log = new Logger('Bootstrap');
  const stops: (() => Promise<void>)[] = [];
  const resolved: AppConfig = {
    ...config,
    database: { ...config.database },
    mqtt: { ...config.mqtt },
  };
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: Error) => log.error(e.message));
  };
  let brokerAuth: EmbeddedBrokerAuth | undefined;
  try {
    if (!resolved.database.url) {
      const pg = await startEmbeddedPostgres(config.dataDir, config.database.embeddedPort);
      stops.push(() => pg.stop());
      resolved.database.url = pg.url;
    }
    if (!resolved.mqtt.url) {
      brokerAuth = embeddedBrokerAuth(config);
      const sec = config.security;
      const broker = await startEmbeddedBroker({
        host: config.mqtt.embeddedHost,
        port: config.mqtt.embeddedPort,
        auth: brokerAuth,
        tls:
          sec.embeddedTlsCertFile && sec.embeddedTlsKeyFile
            ? {
                port: sec.embeddedTlsPort,
                certFile: sec.embeddedTlsCertFile,
                keyFile: sec.embeddedTlsKeyFile,
              }
            : undefined,
      });
      stops.push(() => broker.close());
      resolved.mqtt.url = broker.url;
      resolved.mqtt.embeddedPort = broker.port;
      resolved.mqtt.username = brokerAuth.backend.username;
      resolved.mqtt.password = brokerAuth.backend.password;
      if (broker.tlsPort !== undefined) {
        resolved.security = { ...config.security, embeddedTlsPort: broker.tlsPort };
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    config: resolved,
    embedded: { postgres: !config.database.url, broker: !config.mqtt.url },
    brokerAuth,
    stop,
  };
}

/** HTTP settings, Swagger and the MQTT transport; shared by main and the e2e tests. */
export async function configureApp(app: INestApplication): Promise<void> {
  applyHttpSecurity(app);
  // Before the general parser: EMQX hooks answer even a malformed body with 200 "deny".
  app.use('/broker/emqx', emqxHookBodyParser());
  app.use(json({ limit: app.get<AppConfig>(APP_CONFIG).http.bodyLimit }));
  app.use(urlencoded({ extended: false, limit: '64kb' }));
  // Before guards and pipes, so no route or DTO can miss a rule.
  installInputRules(app);
  setupSwagger(app);
  app.connectMicroservice({ strategy: app.get(FromdevMqttServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
}

export interface RunningService {
  app: INestApplication;
  config: AppConfig;
  embedded: Infrastructure['embedded'];
  httpUrl: string;
  mqttUrl: string;
  databaseUrl: string;
  /** The bootstrap token when configured through ADMIN_TOKEN. */
  adminToken: string;
  close(): Promise<void>;
}

/** Everything `npm start` runs, in order; close() stops it in reverse order. */
export async function startService(
  env: Record<string, string | undefined> = process.env,
): Promise<RunningService> {
  const config = loadConfig(env);
  const logger = new AppLogger(config.logLevel);
  Logger.overrideLogger(logger);
  await assertPortFree(config.http.port, config.http.host, 'PORT');
  const infra = await startInfrastructure(config);
  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(
      AppModule.register(infra.config, { brokerAuth: infra.brokerAuth }),
      { logger, bodyParser: false },
    );
    await configureApp(app);
    await app.listen(config.http.port, config.http.host);
  } catch (err) {
    await app?.close().catch(() => undefined);
    await infra.stop();
    throw err;
  }
  const addr = (app.getHttpServer() as Server).address();
  const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
  const host =
    config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const started = app;
  let closing: Promise<void> | undefined;
  return {
    app,
    config: infra.config,
    embedded: infra.embedded,
    httpUrl: `http://${host}:${port}`,
    mqttUrl: infra.config.mqtt.url!,
    databaseUrl: infra.config.database.url!,
    adminToken: config.adminToken ?? '',
    close: () =>
      (closing ??= (async () => {
        await started.close();
        await infra.stop();
      })()),
  };
}
