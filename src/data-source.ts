import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ENTITIES } from './app-entities';
import { dataSourceOptions } from './database/data-source-options';

// Used by the TypeORM CLI (`npm run migration:*`), which needs an external DATABASE_URL.
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must be set for the migration CLI');
export default new DataSource({
  ...dataSourceOptions({ url, entities: ENTITIES }),
  migrationsRun: false,
});
