/**
 * The socket.io handshake: a socket is let in only with a valid join token whose holder a host
 * has not removed; its peer state starts here. Refusals reach the browser as a connect_error with
 * `data: { code, message }`.
 */
import { randomUUID } from 'node:crypto';
import type { ExtendedError } from 'socket.io';
import { verifyJoinToken, wasRemoved, type RemovalStore } from '@switchboard/auth';
import { fromUnknown, PermissionDeniedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { clientAddress } from './config';
import type { PeerSocket } from './peer';

export interface HandshakeOptions {
  secret: string;
  removals: RemovalStore;
  /** Believe a proxy's X-Real-IP (for guests' rate-limit key). */
  trustProxy: boolean;
  logger: Logger;
}

export function authenticateSocket(options: HandshakeOptions) {
  return (socket: PeerSocket, next: (error?: ExtendedError) => void): void => {
    verifyJoinToken((socket.handshake.auth as { token?: unknown }).token, options.secret)
      .then(async (claims) => {
        if (await wasRemoved(options.removals, claims.room, claims)) {
          throw new PermissionDeniedError('a host removed you from this meeting');
        }
        const address = clientAddress(
          socket.handshake.address,
          socket.handshake.headers['x-real-ip'],
          options.trustProxy,
        );
        socket.data.peer = {
          peerId: randomUUID(),
          displayName: claims.name,
          roomId: claims.room,
          role: claims.role,
          sub: claims.sub,
          jti: claims.jti,
          canPublish: claims.canPublish,
          canSubscribe: claims.canSubscribe,
          clientKey: claims.sub.startsWith('user:') ? claims.sub : `ip:${address}`,
          joined: false,
          inLobby: false,
          transports: new Set(),
          producers: new Set(),
          producerInfo: new Map(),
          presence: 'active',
          consumers: new Set(),
          reserved: { transports: 0, producers: 0, consumers: 0 },
        };
        next();
      })
      .catch((error: unknown) => {
        const appError = fromUnknown(error);
        options.logger.info(
          { reason: appError.message, address: socket.handshake.address },
          'socket refused',
        );
        next(Object.assign(new Error(appError.message), { data: appError.toJSON() }));
      });
  };
}
