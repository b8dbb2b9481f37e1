/**
 * Producers piped between the media nodes of a room that spans several. Each pair of nodes of a
 * room is linked once (a pipe transport on each, connected to the other's address and SRTP key:
 * `link`); a producer crosses by being consumed on its own node and produced, under the same id,
 * on the other. The media nodes make every step idempotent, so instances racing to pipe the same
 * producer agree; this class only saves the repeated link set-up within one instance.
 */
import { AppError } from '@switchboard/errors';
import { startOnce } from '@switchboard/runtime';
import type { CallMeta, MediaClient } from './MediaClient';

export class MediaPipes {
  /** Links set up (or being set up) by this instance: `room|nodeA|nodeB`, the ids sorted. */
  readonly #links = new Map<string, Promise<void>>();

  /** Makes `producerId` of node `from` available on node `to` (no-op when it already is). */
  async pipe(
    roomId: string,
    producerId: string,
    from: MediaClient,
    to: MediaClient,
    meta: CallMeta,
  ): Promise<void> {
    try {
      await this.#pipeOnce(roomId, producerId, from, to, meta);
    } catch (error) {
      // A link this instance set up may have gone (a node's part of the room closed and opened
      // again): set it up afresh once.
      if (!(error instanceof AppError) || error.code !== 'NOT_FOUND') {
        throw error;
      }
      this.#links.delete(linkKey(roomId, from, to));
      await this.#pipeOnce(roomId, producerId, from, to, meta);
    }
  }

  async #pipeOnce(
    roomId: string,
    producerId: string,
    from: MediaClient,
    to: MediaClient,
    meta: CallMeta,
  ): Promise<void> {
    await this.#link(roomId, from, to, meta);
    const piped = await from.call('consumeForPipe', { roomId, remoteNode: to.instanceId, producerId }, meta);
    await to.call(
      'produceFromPipe',
      {
        roomId,
        remoteNode: from.instanceId,
        producerId,
        peerId: piped.peerId,
        kind: piped.kind,
        rtpParameters: piped.rtpParameters,
        paused: piped.producerPaused,
      },
      meta,
    );
  }

  #link(roomId: string, a: MediaClient, b: MediaClient, meta: CallMeta): Promise<void> {
    const key = linkKey(roomId, a, b);
    return startOnce(this.#links, key, async () => {
      const [atA, atB] = await Promise.all([
        a.call('createPipeTransport', { roomId, remoteNode: b.instanceId }, meta),
        b.call('createPipeTransport', { roomId, remoteNode: a.instanceId }, meta),
      ]);
      // Each end sends to the other's address, encrypted with the other's key.
      const connect = (from: MediaClient, to: MediaClient, at: typeof atA) =>
        from.call(
          'connectPipeTransport',
          {
            roomId,
            remoteNode: to.instanceId,
            ip: at.ip,
            port: at.port,
            srtpParameters: at.srtpParameters,
          },
          meta,
        );
      await Promise.all([connect(a, b, atB), connect(b, a, atA)]);
    });
  }

  /** Forgets the links of a room (it closed here), or only those with one of its nodes (lost). */
  forget(roomId: string, nodeId?: string): void {
    for (const key of this.#links.keys()) {
      const [room, ...nodes] = key.split('|');
      if (room === roomId && (!nodeId || nodes.includes(nodeId))) {
        this.#links.delete(key);
      }
    }
  }
}

function linkKey(roomId: string, a: MediaClient, b: MediaClient): string {
  return [roomId, ...[a.instanceId, b.instanceId].sort()].join('|');
}
