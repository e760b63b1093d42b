import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Role } from '../identity/roles';

/** An API token: only the SHA-256 of the secret is stored, never the secret. */
@Entity('api_tokens')
export class ApiToken {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') role!: Role;
  /** Hex SHA-256 of the whole token string; unique, so verification is one index lookup. */
  @Column('text', { name: 'token_hash', select: false }) tokenHash!: string;
  /** The first characters of the token, so an operator can tell which one leaked. */
  @Column('text', { name: 'token_prefix' }) tokenPrefix!: string;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt!: Date;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('timestamptz', { name: 'expires_at', nullable: true }) expiresAt!: Date | null;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
  @Column('text', { name: 'revoked_by', nullable: true }) revokedBy!: string | null;
  @Column('timestamptz', { name: 'last_used_at', nullable: true }) lastUsedAt!: Date | null;
}
