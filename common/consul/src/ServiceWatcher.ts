/**
 * Keeps an up-to-date list of the passing instances of one service, using Consul blocking
 * queries. `ready()` resolves after the first answer; `close()` stops the loop.
 */
import type { Logger } from '@switchboard/logger';
import type { ConsulClient, ServiceInstance } from './ConsulClient';

export class ServiceWatcher {
  readonly #consul: ConsulClient;
  readonly #name: string;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #instances: ServiceInstance[] = [];
  #ready: Promise<void>;
  #closed = false;

  private constructor(consul: ConsulClient, name: string, logger: Logger) {
    this.#consul = consul;
    this.#name = name;
    this.#logger = logger.child({ watching: name });
    this.#ready = this.#loop();
  }

  static start(consul: ConsulClient, name: string, logger: Logger): ServiceWatcher {
    return new ServiceWatcher(consul, name, logger);
  }

  get instances(): readonly ServiceInstance[] {
    return this.#instances;
  }

  /** Asks Consul for the passing instances now (when the watch has none yet). */
  async refresh(): Promise<readonly ServiceInstance[]> {
    this.#instances = await this.#consul.instances(this.#name, { passingOnly: true });
    return this.#instances;
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  #loop(): Promise<void> {
    let resolveFirst!: () => void;
    const first = new Promise<void>((resolve) => {
      resolveFirst = resolve;
    });
    void (async () => {
      let index: string | undefined;
      while (!this.#closed) {
        try {
          const result = await this.#consul.watchPassing(this.#name, index, { signal: this.#abort.signal });
          // Consul may return an index that went backwards (agent restart): start over then.
          index = Number(result.index) < Number(index ?? 0) ? undefined : result.index;
          const before = this.#instances.map((i) => i.id).join(',');
          this.#instances = result.instances;
          const after = this.#instances.map((i) => i.id).join(',');
          if (before !== after) {
            this.#logger.info({ instances: after || '(none)' }, 'passing instances changed');
          }
          resolveFirst();
        } catch (error) {
          if (this.#closed) {
            break;
          }
          this.#logger.warn({ err: error }, 'consul watch failed; retrying in 1s');
          resolveFirst();
          index = undefined;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    })();
    return first;
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#abort.abort();
  }
}
