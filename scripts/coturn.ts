/**
 * coturn's command line, shared by the native launcher and the tests that run a real coturn:
 * TURN REST API credentials (`use-auth-secret`), no TLS/DTLS listeners, UDP relaying only, and
 * only to `peer` (the media nodes' address; loopback allowed when that is where they are).
 */
import { join } from 'node:path';

export interface CoturnOptions {
  /** Where it listens and relays from (and the address browsers use). */
  host: string;
  port: number;
  relayMin: number;
  relayMax: number;
  secret: string;
  /** The only address it relays to. */
  peer: string;
  /** Its user database and pid file go here. */
  dir: string;
}

export function coturnArgs(o: CoturnOptions): string[] {
  return [
    '-n', // no configuration file: everything is here
    `--listening-ip=${o.host}`,
    `--listening-port=${o.port}`,
    `--relay-ip=${o.host}`,
    `--min-port=${o.relayMin}`,
    `--max-port=${o.relayMax}`,
    '--use-auth-secret',
    `--static-auth-secret=${o.secret}`,
    '--realm=switchboard',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--no-tcp-relay',
    '--fingerprint',
    '--no-software-attribute',
    '--denied-peer-ip=0.0.0.0-255.255.255.255',
    `--allowed-peer-ip=${o.peer}`,
    ...(o.peer.startsWith('127.') ? ['--allow-loopback-peers'] : []),
    `--userdb=${join(o.dir, 'turndb')}`,
    `--pidfile=${join(o.dir, 'turnserver.pid')}`,
    '--log-file=stdout',
    '--simple-log',
  ];
}
