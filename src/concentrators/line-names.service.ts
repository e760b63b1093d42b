import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { ConcentratorsService } from './concentrators.service';
import { LineView } from './dto/concentrator.dto';
import { LineName } from './entities/line-name.entity';

/**
 * The highest line number another owner holds values for (telemetry's latest
 * values); 0 when none. Plugged in from above: the registry may not import it.
 */
export type HighestLineSource = (sn: string) => Promise<number>;

/** Operator-given line names (`line_names`) and the list of a concentrator's lines. */
@Injectable()
export class LineNamesService {
  private highestKnownLine: HighestLineSource = () => Promise.resolve(0);

  constructor(
    @InjectRepository(LineName) private readonly lineNames: Repository<LineName>,
    private readonly concentrators: ConcentratorsService,
    private readonly audit: AuditService,
  ) {}

  /** Lines with values but no name count too in listLines (telemetry plugs itself in). */
  useHighestKnownLine(source: HighestLineSource): void {
    this.highestKnownLine = source;
  }

  /** Lines 1 … the highest of the reported line count, a named line and a line with values. */
  async listLines(sn: string): Promise<LineView[]> {
    const c = await this.concentrators.get(sn);
    const [names, withValues] = await Promise.all([
      this.lineNamesOf(sn),
      this.highestKnownLine(sn),
    ]);
    const count = Math.max(c.lineCount ?? 0, ...names.keys(), withValues, 0);
    return Array.from({ length: count }, (_, i) => ({
      line: i + 1,
      name: names.get(i + 1) ?? null,
    }));
  }

  /** Operator-given names of one concentrator's lines, by line. */
  async lineNamesOf(sn: string): Promise<Map<number, string>> {
    const rows = await this.lineNames.find({ where: { sn }, order: { line: 'ASC' } });
    return new Map(rows.map((r) => [r.line, r.name]));
  }

  /** The same for many concentrators, by serial; a serial without named lines is absent. */
  async lineNamesOfMany(sns: readonly string[]): Promise<Map<string, Map<number, string>>> {
    const out = new Map<string, Map<number, string>>();
    if (sns.length === 0) return out;
    const rows = await this.lineNames.find({
      where: { sn: In([...sns]) },
      order: { sn: 'ASC', line: 'ASC' },
    });
    for (const r of rows) {
      let names = out.get(r.sn);
      if (!names) out.set(r.sn, (names = new Map<number, string>()));
      names.set(r.line, r.name);
    }
    return out;
  }

  renameLine(
    sn: string,
    line: number,
    name: string,
    actor: Actor | null = null,
  ): Promise<LineView> {
    return this.audit.audited(
      { actor, action: 'line.rename', target: sn, detail: { line, name } },
      () => this.doRenameLine(sn, line, name),
    );
  }

  private async doRenameLine(sn: string, line: number, name: string): Promise<LineView> {
    const c = await this.concentrators.get(sn);
    if (c.lineCount !== null && line > c.lineCount) {
      throw new BadRequestException(
        `line ${line} is beyond the concentrator's ${c.lineCount} lines`,
      );
    }
    await this.lineNames
      .createQueryBuilder()
      .insert()
      .values({ sn, line, name })
      .orUpdate(['name'], ['sn', 'line'])
      .execute();
    return { line, name };
  }
}
