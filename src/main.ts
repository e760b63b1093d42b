import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { startService } from './bootstrap';
import { ConfigError } from './config/app-config';
import { PortInUseError } from './embedded/port-check';
import { TlsFileError } from './mqtt/mqtt-client-options';

async function main(): Promise<void> {
  const log = new Logger('Main');
  let service;
  try {
    service = await startService();
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof PortInUseError ||
      err instanceof TlsFileError
    ) {
      // Operator mistakes get one clear line, not a stack trace.
      console.error(`\n${err.message}\n`);
    } else {
      console.error(err);
    }
    process.exit(1);
  }
  const { config, httpUrl } = service;
  log.log(
    `database: ${config.database.url && !process.env.DATABASE_URL ? `embedded PostgreSQL (127.0.0.1:${config.database.embeddedPort}, data in ${config.dataDir}/postgres)` : 'external (DATABASE_URL)'}`,
  );
  log.log(
    `broker:   ${process.env.MQTT_URL ? `external ${redact(config.mqtt.url!)}` : `embedded aedes on ${config.mqtt.embeddedHost}:${config.mqtt.embeddedPort}`}; devices publish to ${config.mqtt.topicRoot}/<sn>/fromdev`,
  );
  log.log(`HTTP API: ${httpUrl}   Swagger UI: ${httpUrl}/docs   OpenAPI: ${httpUrl}/docs-json`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log(`${signal}: shutting down`);
    const force = setTimeout(() => {
      log.error('shutdown took over 20 s, exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    await service.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

void main();
