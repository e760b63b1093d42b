import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { startService, RunningService } from './bootstrap';
import { ConfigError } from './config/app-config';
import { PortInUseError } from './embedded/port-check';
import { TlsFileError } from './mqtt/mqtt-client-options';
import { startupBanner } from './startup-banner';

/**
 * `.env` in the working directory (or the file ENV_FILE names) fills in what
 * the environment does not set: a variable set in the environment always wins.
 */
function loadEnvFile(): string | undefined {
  const file = resolve(process.env.ENV_FILE ?? '.env');
  if (!existsSync(file)) {
    if (process.env.ENV_FILE) throw new ConfigError(`ENV_FILE=${file}: no such file`);
    return undefined;
  }
  process.loadEnvFile(file);
  return file;
}

function isOperatorMistake(err: unknown): err is Error {
  return err instanceof ConfigError || err instanceof PortInUseError || err instanceof TlsFileError;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  let service: RunningService;
  let envFile: string | undefined;
  try {
    envFile = loadEnvFile();
    service = await startService();
  } catch (err) {
    // Operator mistakes get one clear line, not a stack trace.
    console.error(isOperatorMistake(err) ? `\n${err.message}\n` : err);
    process.exit(1);
  }
  console.log(startupBanner(service, { envFile, startedMs: performance.now() - startedAt }));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(
      `${signal}: shutting down (flushing buffered telemetry, stopping embedded services)`,
    );
    const force = setTimeout(() => {
      console.error('shutdown took over 20 s, exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    await service.close();
    console.log('stopped');
    process.exit(0);
  };
  // SIGHUP: the terminal that ran `npm start` was closed.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stop(signal));
  }
}

void main();
