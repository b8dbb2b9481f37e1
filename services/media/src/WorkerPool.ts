/**
 * The mediasoup workers of this node (one per core by default), each with its WebRTC server: one
 * UDP and one TCP port (`firstPort` + the worker's slot) that every WebRTC transport of the worker
 * shares, so the ports a node opens never grow with its participants. New rooms go to the worker
 * with the fewest routers. A worker that dies takes its rooms with it (their routers close, which
 * ends the rooms' event streams); the pool starts a replacement in its slot, on the same ports, so
 * the node keeps serving. Only when a replacement cannot be started does it report `onFatal`.
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '@switchboard/logger';

/** Where the workers' WebRTC servers listen: worker `i` on `firstPort + i`, UDP and TCP. */
/**
 * Socket buffers of each WebRTC server (the kernel caps them at net.core.rmem_max / wmem_max;
 * raise those on a busy host).
 */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** How long a worker waits for its WebRTC port to be free (20 × 250 ms). */
const PORT_BUSY_ATTEMPTS = 20;
const PORT_BUSY_WAIT_MS = 250;

export interface WebRtcListen {
  ip: string;
  /** The address put in ICE candidates (behind NAT, in containers); `ip` when absent. */
  announcedAddress?: string;
  firstPort: number;
  /** Off: no WebRTC servers (each transport takes its own ports from the node's range). */
  enabled: boolean;
}

export interface WorkerPoolOptions {
  numWorkers: number;
  logLevel: types.WorkerLogLevel;
  webRtc: WebRtcListen;
  logger: Logger;
  /** Called after a worker died (its replacement is being started). */
  onWorkerDied?: (error: Error) => void;
  /** Called when a dead worker could not be replaced. */
  onFatal: (error: Error) => void;
}

export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #workers: types.Worker[] = [];
  readonly #routerCounts = new Map<types.Worker, number>();
  readonly #webRtcServers = new Map<types.Worker, types.WebRtcServer>();
  /** CPU time (ms) each worker had used at the last sample, and its share of a core since. */
  readonly #cpu = new Map<types.Worker, { at: number; usedMs: number; share: number }>();
  #closed = false;

  private constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      for (let i = 0; i < options.numWorkers; i++) {
        pool.#workers.push(await pool.#startWorker(i));
      }
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  async #startWorker(index: number): Promise<types.Worker> {
    const worker = await mediasoup.createWorker({ logLevel: this.#options.logLevel, appData: { index } });
    if (this.#options.webRtc.enabled) {
      this.#webRtcServers.set(worker, await this.#startWebRtcServer(worker, index));
    }
    this.#routerCounts.set(worker, 0);
    worker.on('died', (error) => void this.#replace(worker, index, error));
    this.#options.logger.info({ workerPid: worker.pid, index }, 'mediasoup worker started');
    return worker;
  }

  /** The worker's WebRTC server on `firstPort + index`, UDP and TCP (the worker closes on failure). */
  async #startWebRtcServer(worker: types.Worker, index: number): Promise<types.WebRtcServer> {
    const { ip, announcedAddress, firstPort } = this.#options.webRtc;
    const port = firstPort + index;
    // One socket now carries what a socket per transport carried: its kernel buffers must hold
    // a worker's bursts while the worker waits for a core, or STUN checks drop and ICE flaps.
    const buffers = { sendBufferSize: SOCKET_BUFFER_BYTES, recvBufferSize: SOCKET_BUFFER_BYTES };
    // The port may still be held for a moment by the worker this one replaces (a crashed node
    // restarted, a worker that died): wait for it rather than fail.
    for (let attempt = 1; ; attempt++) {
      try {
        return await worker.createWebRtcServer({
          listenInfos: [
            { protocol: 'udp', ip, announcedAddress, port, ...buffers },
            { protocol: 'tcp', ip, announcedAddress, port, ...buffers },
          ],
        });
      } catch (error) {
        const busy = error instanceof Error && error.message.includes('address already in use');
        if (!busy || attempt >= PORT_BUSY_ATTEMPTS) {
          worker.close();
          throw new Error(
            `mediasoup worker ${index} cannot listen for WebRTC on ${ip}:${port} (UDP and TCP)`,
            {
              cause: error,
            },
          );
        }
        this.#options.logger.warn({ index, port, attempt }, 'WebRTC port still in use; trying again');
        await new Promise((resolve) => setTimeout(resolve, PORT_BUSY_WAIT_MS));
      }
    }
  }

  async #replace(dead: types.Worker, index: number, error: Error): Promise<void> {
    this.#options.logger.error(
      { err: error, workerPid: dead.pid, index, rooms: this.#routerCounts.get(dead) ?? 0 },
      'mediasoup worker died; its rooms are closed; starting a replacement',
    );
    this.#routerCounts.delete(dead);
    this.#webRtcServers.delete(dead);
    this.#options.onWorkerDied?.(error);
    if (this.#closed) {
      return;
    }
    try {
      const replacement = await this.#startWorker(index);
      if (this.#closed) {
        replacement.close();
        return;
      }
      this.#workers[this.#workers.indexOf(dead)] = replacement;
    } catch (startError) {
      this.#options.logger.fatal({ err: startError, index }, 'could not replace a dead mediasoup worker');
      this.#workers.splice(this.#workers.indexOf(dead), 1);
      this.#options.onFatal(startError as Error);
    }
  }

  get size(): number {
    return this.#workers.filter((w) => !w.died).length;
  }

  get workers(): readonly types.Worker[] {
    return this.#workers;
  }

  /** Creates a router on the least-loaded live worker (of those `eligible`, if given). */
  async createRouter(
    mediaCodecs: types.RouterRtpCodecCapability[],
    appData: types.AppData,
    eligible: (worker: types.Worker) => boolean = () => true,
  ): Promise<types.Router> {
    const live = this.#workers.filter((w) => !w.died && !w.closed && eligible(w));
    if (live.length === 0) {
      throw new Error('no live mediasoup worker');
    }
    let best = live[0];
    for (const worker of live) {
      if ((this.#routerCounts.get(worker) ?? 0) < (this.#routerCounts.get(best) ?? 0)) {
        best = worker;
      }
    }
    const router = await best.createRouter({ mediaCodecs, appData: { ...appData, workerPid: best.pid } });
    this.#routerCounts.set(best, (this.#routerCounts.get(best) ?? 0) + 1);
    router.observer.once('close', () => {
      if (this.#routerCounts.has(best)) {
        this.#routerCounts.set(best, Math.max(0, (this.#routerCounts.get(best) ?? 1) - 1));
      }
    });
    return router;
  }

  /** The WebRTC server of the live worker with this pid (every WebRTC transport there uses it). */
  webRtcServer(pid: number): types.WebRtcServer | undefined {
    if (!this.#options.webRtc.enabled) {
      return undefined;
    }
    const worker = this.#workers.find((w) => w.pid === pid && !w.died && !w.closed);
    const server = worker && this.#webRtcServers.get(worker);
    if (!server || server.closed) {
      throw new Error(`no live mediasoup worker with pid ${pid}`);
    }
    return server;
  }

  /** The ports the workers' WebRTC servers listen on, in slot order. */
  get webRtcPorts(): number[] {
    return this.#workers.map((_, index) => this.#options.webRtc.firstPort + index);
  }

  /** Routers on a live worker, by its pid. */
  routers(pid: number): number {
    const worker = this.#workers.find((w) => w.pid === pid);
    return worker ? (this.#routerCounts.get(worker) ?? 0) : 0;
  }

  /** Each live worker's share of one core over the last sampling interval (0 before two samples). */
  cpu(pid: number): number {
    const worker = this.#workers.find((w) => w.pid === pid);
    return worker ? (this.#cpu.get(worker)?.share ?? 0) : 0;
  }

  /** Samples the workers' CPU time (getrusage of each worker process). */
  async sampleCpu(): Promise<void> {
    await Promise.all(
      this.#workers
        .filter((w) => !w.died && !w.closed)
        .map(async (worker) => {
          const usage = await worker.getResourceUsage();
          const at = Date.now();
          const usedMs = usage.ru_utime + usage.ru_stime;
          const last = this.#cpu.get(worker);
          const share = last && at > last.at ? Math.max(0, (usedMs - last.usedMs) / (at - last.at)) : 0;
          this.#cpu.set(worker, { at, usedMs, share });
        }),
    );
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const worker of this.#workers) {
      worker.close();
    }
  }
}
