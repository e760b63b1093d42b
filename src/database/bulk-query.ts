import type { Pool, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { CLIENT_GRACE_MS } from '../config/database-bounds';

/**
 * One statement under the bulk bound instead of the pool's API-sized one: in a
 * transaction of its own with `SET LOCAL statement_timeout`, so the longer
 * bound never leaks to the next user of the connection. A failure of any kind
 * discards the connection (its transaction state is unknown), and a statement
 * that timed out on the client side is then never committed: the server rolls
 * it back when it sees the connection gone.
 */
export async function bulkQuery<R extends QueryResultRow = QueryResultRow>(
  pool: Pool,
  timeoutMs: number,
  text: string,
  values: unknown[] = [],
): Promise<QueryResult<R>> {
  const client = await pool.connect();
  // A connection the server ends between two statements says so by an 'error' event.
  const onError = (): void => undefined;
  client.on('error', onError);
  // pg reads query_timeout per query; its typings only know it per client.
  const bounded = <C extends QueryConfig>(c: C): C & { query_timeout: number } => ({
    ...c,
    query_timeout: timeoutMs + CLIENT_GRACE_MS,
  });
  try {
    const ms = Math.floor(timeoutMs);
    await client.query(bounded({ text: `BEGIN; SET LOCAL statement_timeout = ${ms}` }));
    const res = await client.query<R>(bounded({ text, values }));
    await client.query(bounded({ text: 'COMMIT' }));
    client.off('error', onError);
    client.release();
    return res;
  } catch (err) {
    client.off('error', onError);
    client.release(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}
