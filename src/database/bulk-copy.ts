import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, QueryConfig } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CLIENT_GRACE_MS } from '../config/database-bounds';

/**
 * `COPY … FROM STDIN` under the same bounds as bulkQuery(): in a transaction
 * of its own with `SET LOCAL statement_timeout` (the COPY counts as one
 * statement, the wait for its data included), the client giving up
 * CLIENT_GRACE_MS later, and the connection discarded after a failure of any
 * kind (a duplicate included: its transaction is aborted, its state is not
 * worth a round trip to repair). `rows` is read as it is sent, chunk by chunk,
 * with the socket's backpressure. Returns the rows the server copied.
 */
export async function bulkCopy(
  pool: Pool,
  timeoutMs: number,
  sql: string,
  rows: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
): Promise<number> {
  const client = await pool.connect();
  const onError = (): void => undefined;
  client.on('error', onError);
  const queryTimeout = Math.floor(timeoutMs) + CLIENT_GRACE_MS;
  try {
    const ms = Math.floor(timeoutMs);
    await client.query({
      text: `BEGIN; SET LOCAL statement_timeout = ${ms}`,
      query_timeout: queryTimeout,
    } as QueryConfig);
    // pg reads query_timeout from the submitted object; without it the pool's
    // API-sized bound would apply to the whole COPY.
    const copy = Object.assign(copyFrom(sql), { query_timeout: queryTimeout });
    await pipeline(Readable.from(rows, { objectMode: false }), client.query(copy));
    await client.query({ text: 'COMMIT', query_timeout: queryTimeout } as QueryConfig);
    client.off('error', onError);
    client.release();
    return copy.rowCount;
  } catch (err) {
    client.off('error', onError);
    client.release(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}
