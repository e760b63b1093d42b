import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { DatabaseBounds } from './database-bounds';
import { DatabaseGate } from './database-gate';
import { dataSourceOptions, migrationOptions, probeConfig } from './data-source-options';

/**
 * The service's database: pending migrations first, on a connection of their
 * own with the long migration bound, then the pool every other path shares,
 * with API-sized bounds and the gate in front of it.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(url: string, poolSize: number, bounds: DatabaseBounds): DynamicModule {
    const gate = new DatabaseGate(probeConfig(url, bounds));
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...dataSourceOptions(url, poolSize, bounds, gate),
            migrationsRun: false,
          }),
          dataSourceFactory: async (options) => {
            await runMigrations(url, bounds);
            return new DataSource(options!);
          },
        }),
      ],
      providers: [{ provide: DatabaseGate, useValue: gate }],
      exports: [DatabaseGate],
    };
  }
}

async function runMigrations(url: string, bounds: DatabaseBounds): Promise<void> {
  const ds = new DataSource(migrationOptions(url, bounds));
  try {
    await ds.initialize();
  } finally {
    if (ds.isInitialized) await ds.destroy();
  }
}
