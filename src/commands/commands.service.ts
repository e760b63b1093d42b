import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Actor } from '../auth/roles';
import { BackendMessage } from '../protocol/backend-messages';
import { Command } from './command.entity';

type Omit3<T> = T extends unknown ? Omit<T, 'sn' | 'id' | 'ts'> : never;
/** A backend message before the service stamps it with serial, id and time. */
export type OutgoingMessage = Omit3<BackendMessage>;

export interface SendCommandInput {
  sn: string;
  message: OutgoingMessage;
  /** null = the system itself (config_request re-push, upgrade campaign). */
  actor: Actor | null;
  /** Default true: 409 `device_offline` when the concentrator is offline. */
  requireOnline?: boolean;
  ip?: string;
}

@Injectable()
export class CommandsService {
  private readonly settledListeners = new Set<(cmd: Command) => void>();

  constructor(@InjectRepository(Command) private readonly repo: Repository<Command>) {}

  send(_input: SendCommandInput): Promise<Command> {
    throw new Error('not implemented yet');
  }

  onSettled(listener: (cmd: Command) => void): () => void {
    this.settledListeners.add(listener);
    return () => this.settledListeners.delete(listener);
  }

  async get(id: string): Promise<Command> {
    const c = await this.repo.findOneBy({ id });
    if (!c) throw new NotFoundException('command not found');
    return c;
  }
}
