import { FindOptionsOrder, FindOptionsWhere, Repository } from 'typeorm';
import { Page, PaginationQuery } from './pagination.dto';

type LogRow = { id: string; at: Date };

/**
 * One page of an append-only log table (audit, rejections), newest first,
 * filtered by exact matches on whichever of `fields` the query sets. For the
 * table's owning service: controllers hold no repository.
 */
export async function newestFirstPage<T extends LogRow, Q extends PaginationQuery>(
  repo: Repository<T>,
  q: Q,
  fields: readonly (keyof Q & keyof T & string)[],
): Promise<Page<Omit<T, 'at'> & { at: string }>> {
  const where: Record<string, unknown> = {};
  for (const f of fields) if (q[f] !== undefined) where[f] = q[f];
  const [rows, total] = await repo.findAndCount({
    where: where as FindOptionsWhere<T>,
    order: { id: 'DESC' } as FindOptionsOrder<T>,
    take: q.limit,
    skip: q.offset,
  });
  return {
    items: rows.map((r) => ({ ...r, at: r.at.toISOString() })),
    total,
    limit: q.limit,
    offset: q.offset,
  };
}
