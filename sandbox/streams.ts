/** A push-fed async iterable: the coordinator's deliveries in, plugin `for await` out. */
export class Inbox<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiters: ((r: IteratorResult<T>) => void)[] = [];
  private closed = false;

  push(item: T): void {
    if (this.closed) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter({ value: item, done: false });
    else this.items.push(item);
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiters) waiter({ value: undefined, done: true });
    this.waiters = [];
  }

  /**
   * A view of this inbox whose iterators can stop — a `for await` loop's `break` — without
   * closing the inbox: an agent's direct messages outlive any one loop and any one subtask.
   */
  reader(): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<T> => {
        const source = this[Symbol.asyncIterator]();
        let stopped = false;
        return {
          next: () => (stopped ? Promise.resolve({ value: undefined, done: true }) : source.next()),
          return: () => {
            stopped = true;
            return Promise.resolve({ value: undefined, done: true });
          },
        };
      },
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
