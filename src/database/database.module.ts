import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { DatabaseBounds } from '../config/database-bounds';
import { DatabaseGate } from './database-gate';
import {
  dataSourceOptions,
  migrationOptions,
  PoolOptions,
  probeConfig,
} from './data-source-options';
import { SqlRunner } from './sql-runner';

/**
 * The service's database: pending migrations first, on a connection of their
 * own with the long migration bound, then the pool every other path shares,
 * with API-sized bounds and the gate in front of it. Global: TypeORM's
 * repositories and the SqlRunner are one pool that every owner of a table uses.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(o: Required<Omit<PoolOptions, 'gate'>>): DynamicModule {
    const { url, bounds } = o;
    const gate = new DatabaseGate(probeConfig(url, bounds));
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...dataSourceOptions({ ...o, gate }),
            migrationsRun: false,
          }),
          dataSourceFactory: async (options) => {
            await runMigrations(url, bounds);
            return new DataSource(options!);
          },
        }),
      ],
      providers: [{ provide: DatabaseGate, useValue: gate }, SqlRunner],
      exports: [DatabaseGate, SqlRunner],
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
