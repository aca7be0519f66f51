// Runs a native object's async calls one after another (the addon takes one call at a time)
// and turns calls after dispose() into a clear error.
export class Serial<N extends { dispose(): Promise<void> }> {
  #native: N | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    native: N,
    private readonly what: string,
  ) {
    this.#native = native;
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  run<T>(call: (n: N) => T | Promise<T>): Promise<T> {
    const next = this.#queue.then(() => {
      if (!this.#native) throw new Error(`this ${this.what} was disposed`);
      return call(this.#native);
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** A quick synchronous call at once, beside a running one (the native side must allow it). */
  now<T>(call: (n: N) => T): T {
    if (!this.#native) throw new Error(`this ${this.what} was disposed`);
    return call(this.#native);
  }

  dispose(): Promise<void> {
    return this.run(async (n) => {
      this.#native = undefined;
      await n.dispose();
    });
  }
}
