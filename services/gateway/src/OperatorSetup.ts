/**
 * The bootstrap of a deployment's first operator, as Grafana or GitLab do it: while no account is
 * an operator, the gateway makes a one-time setup code (128 random bits; only its SHA-256 digest
 * is stored, `operator_setup_codes`), writes it where whoever started the deployment reads it (the
 * log, and `SWITCHBOARD_SETUP_CODE_FILE`, mode 0600, which `npm start` prints), and the signed-in
 * account that presents it becomes an operator. Nobody becomes one by merely registering first.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { withTransaction, type Pool, type PoolClient } from '@switchboard/db';
import { PermissionDeniedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';

const digest = (code: string) => createHash('sha256').update(code).digest();

export interface OperatorSetupOptions {
  pool: Pool;
  /** Emails that are operators anyway (SWITCHBOARD_OPERATOR_EMAILS). */
  operatorEmails: string[];
  /** Where the code is also written (for the launcher to print), if anywhere. */
  codeFile?: string;
  logger: Logger;
}

export class OperatorSetup {
  readonly #o: OperatorSetupOptions;

  constructor(options: OperatorSetupOptions) {
    this.#o = options;
  }

  /**
   * At start: when no account is an operator, makes sure an unused code exists and says it (the
   * one in the code file again when it is still the valid one, else a new one). Returns the code,
   * or undefined when the deployment has an operator.
   */
  async ensureCode(): Promise<string | undefined> {
    const code = await withTransaction(this.#o.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [0x5b0a02]);
      const { rows } = await client.query<{ operators: number }>(
        `SELECT count(*)::int AS operators FROM users WHERE is_operator OR lower(email) = ANY($1)`,
        [this.#o.operatorEmails],
      );
      if (rows[0].operators > 0) {
        return undefined;
      }
      const kept = this.#readFile();
      if (kept) {
        const { rowCount } = await client.query(
          'SELECT 1 FROM operator_setup_codes WHERE code_hash = $1 AND used_at IS NULL',
          [digest(kept)],
        );
        if (rowCount) {
          return kept;
        }
      }
      // A new code; one written before that nobody can read any more stops working.
      const fresh = randomBytes(16).toString('base64url');
      await client.query('DELETE FROM operator_setup_codes WHERE used_at IS NULL');
      await client.query('INSERT INTO operator_setup_codes (code_hash) VALUES ($1)', [digest(fresh)]);
      return fresh;
    });
    if (this.#o.codeFile) {
      // With an operator, nothing to show (a code from an earlier start is gone).
      writeFileSync(this.#o.codeFile, code ? `${code}\n` : '', { mode: 0o600 });
    }
    if (code) {
      this.#o.logger.warn(
        { setupPath: `/setup?code=${code}` },
        `no operator yet: sign in and open /setup?code=${code} to become this deployment's operator`,
      );
    }
    return code;
  }

  /** Spends a code for `userId` (in the caller's transaction); PERMISSION_DENIED when it is not valid. */
  async consume(client: PoolClient, code: string, userId: string): Promise<void> {
    const { rowCount } = await client.query(
      `UPDATE operator_setup_codes SET used_at = now(), used_by = $2
        WHERE code_hash = $1 AND used_at IS NULL`,
      [digest(code), userId],
    );
    if (!rowCount) {
      throw new PermissionDeniedError('this setup code is not valid (it may have been used already)');
    }
  }

  /** After a code was spent: the file no longer shows it. */
  spent(): void {
    if (this.#o.codeFile) {
      writeFileSync(this.#o.codeFile, '', { mode: 0o600 });
    }
  }

  #readFile(): string | undefined {
    try {
      return this.#o.codeFile ? readFileSync(this.#o.codeFile, 'utf8').trim() || undefined : undefined;
    } catch {
      return undefined;
    }
  }
}
