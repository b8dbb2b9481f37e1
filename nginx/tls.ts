/**
 * NGINX's HTTPS certificate: the operator's (a certificate and key file), or for local use a
 * self-signed one made on first start and kept in a directory (the native run directory, the
 * Docker image's state volume). Used by the native launcher (scripts/Stack.ts) and the Docker
 * entrypoint (nginx/entrypoint.ts).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsFiles {
  certificate: string;
  key: string;
  /** True when made here (self-signed): browsers warn until it is trusted. */
  selfSigned: boolean;
}

/** Names the self-signed certificate is valid for. */
const LOCAL_NAMES = 'DNS:localhost,IP:127.0.0.1,IP:::1';
const DAYS = 825;

/**
 * The given certificate and key (both readable), or a self-signed certificate for localhost kept
 * in `dir` (made once with openssl; the key is readable by its owner only).
 */
export function tlsFiles(dir: string, given?: { certificate?: string; key?: string }): TlsFiles {
  if (given?.certificate || given?.key) {
    if (!given.certificate || !given.key) {
      throw new Error('a TLS certificate needs both files: set the certificate and its key, or neither');
    }
    for (const file of [given.certificate, given.key]) {
      try {
        readFileSync(file);
      } catch (error) {
        throw new Error(`cannot read TLS file ${file}: ${(error as Error).message}`);
      }
    }
    return { certificate: given.certificate, key: given.key, selfSigned: false };
  }
  const certificate = join(dir, 'self-signed.crt');
  const key = join(dir, 'self-signed.key');
  if (!existsSync(certificate) || !existsSync(key)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const partial = { certificate: `${certificate}.partial`, key: `${key}.partial` };
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          String(DAYS),
          '-subj',
          '/CN=localhost',
          '-addext',
          `subjectAltName=${LOCAL_NAMES}`,
          '-keyout',
          partial.key,
          '-out',
          partial.certificate,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (error) {
      const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
      throw new Error(`could not make a self-signed TLS certificate with openssl: ${detail}`);
    }
    chmodSync(partial.key, 0o600);
    renameSync(partial.key, key);
    renameSync(partial.certificate, certificate);
  }
  return { certificate, key, selfSigned: true };
}
