/**
 * The mediasoup workers of this node (one per core by default). New rooms go to the worker with
 * the fewest routers. A worker that dies takes its rooms with it; the pool reports it through
 * `onWorkerDied` so the node can go unhealthy and restart.
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '@switchboard/logger';

export interface WorkerPoolOptions {
  numWorkers: number;
  logLevel: types.WorkerLogLevel;
  logger: Logger;
  onWorkerDied: (error: Error) => void;
}

export class WorkerPool {
  readonly #workers: types.Worker[];
  readonly #routerCounts = new Map<types.Worker, number>();
  #closed = false;

  private constructor(workers: types.Worker[]) {
    this.#workers = workers;
    for (const worker of workers) {
      this.#routerCounts.set(worker, 0);
    }
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const workers: types.Worker[] = [];
    try {
      for (let i = 0; i < options.numWorkers; i++) {
        const worker = await mediasoup.createWorker({ logLevel: options.logLevel, appData: { index: i } });
        worker.on('died', (error) => {
          options.logger.error({ err: error, workerPid: worker.pid }, 'mediasoup worker died');
          options.onWorkerDied(error);
        });
        options.logger.info({ workerPid: worker.pid, index: i }, 'mediasoup worker started');
        workers.push(worker);
      }
    } catch (error) {
      for (const worker of workers) {
        worker.close();
      }
      throw error;
    }
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.#workers.length;
  }

  get workers(): readonly types.Worker[] {
    return this.#workers;
  }

  /** Creates a router on the least-loaded worker; `release` must be called when it closes. */
  async createRouter(
    mediaCodecs: types.RouterRtpCodecCapability[],
    appData: types.AppData,
  ): Promise<types.Router> {
    let best = this.#workers[0];
    for (const worker of this.#workers) {
      if ((this.#routerCounts.get(worker) ?? 0) < (this.#routerCounts.get(best) ?? 0)) {
        best = worker;
      }
    }
    const router = await best.createRouter({ mediaCodecs, appData });
    this.#routerCounts.set(best, (this.#routerCounts.get(best) ?? 0) + 1);
    router.observer.once('close', () => {
      this.#routerCounts.set(best, Math.max(0, (this.#routerCounts.get(best) ?? 1) - 1));
    });
    return router;
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
