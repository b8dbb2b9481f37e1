/**
 * The socket.io handshake: a socket is let in only with a valid join token whose holder a host
 * has not removed, while its address holds fewer sockets than allowed; it becomes its identity's
 * one connection in the room (the older one it replaces is closed once it is accepted). Its peer
 * state starts here. Refusals reach the browser as a connect_error with `data: { code, message }`.
 */
import { randomUUID } from 'node:crypto';
import type { ExtendedError } from 'socket.io';
import { verifyJoinToken, wasRemoved, type RemovalStore } from '@switchboard/auth';
import { fromUnknown, PermissionDeniedError } from '@switchboard/errors';
import type { Logger } from '@switchboard/logger';
import { clientAddress, type TrustProxy } from './clientAddress';
import type { PeerSocket } from './peer';
import type { Presence } from './Presence';
import type { SocketLimits } from './SocketLimits';

export interface HandshakeOptions {
  secret: string;
  removals: RemovalStore;
  /** Whose X-Forwarded-For to believe (a guest's address keys its limits and removals). */
  trustProxy: TrustProxy;
  limits: SocketLimits;
  presence: Presence;
  logger: Logger;
}

export function authenticateSocket(options: HandshakeOptions) {
  return (socket: PeerSocket, next: (error?: ExtendedError) => void): void => {
    const address = clientAddress(
      socket.handshake.address,
      socket.handshake.headers['x-forwarded-for'],
      options.trustProxy,
    );
    try {
      options.limits.opened(address);
    } catch (error) {
      refuse(error);
      return;
    }
    // Counted until it disconnects (or is refused below).
    socket.conn.once('close', () => options.limits.closed(address));
    verifyJoinToken((socket.handshake.auth as { token?: unknown }).token, options.secret)
      .then(async (claims) => {
        if (await wasRemoved(options.removals, claims.room, { ...claims, address })) {
          throw new PermissionDeniedError('a host removed you from this meeting');
        }
        const peerId = randomUUID();
        const replaces = await options.presence.claimIdentity(claims.room, claims.sub, peerId);
        socket.data.peer = {
          peerId,
          replaces,
          displayName: claims.name,
          roomId: claims.room,
          role: claims.role,
          sub: claims.sub,
          jti: claims.jti,
          canPublish: claims.canPublish,
          canSubscribe: claims.canSubscribe,
          clientKey: claims.sub.startsWith('user:') ? claims.sub : `ip:${address}`,
          address,
          joined: false,
          inLobby: false,
          transports: new Set(),
          producers: new Map(),
          presence: 'active',
          attributes: {},
          consumers: new Set(),
          reserved: { transports: 0, producers: 0, consumers: 0 },
        };
        next();
      })
      .catch(refuse);

    function refuse(error: unknown): void {
      const appError = fromUnknown(error);
      options.logger.info({ reason: appError.message, address }, 'socket refused');
      next(Object.assign(new Error(appError.message), { data: appError.toJSON() }));
    }
  };
}
