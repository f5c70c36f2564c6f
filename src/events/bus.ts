/**
 * A broadcast of coordinator events to any number of async-iterator consumers. Each consumer
 * has its own bounded buffer: a consumer that falls more than `capacity` events behind loses the
 * oldest ones (counted in its `dropped` events), so a slow consumer can never grow the
 * coordinator's memory without bound.
 */
export class EventBus<E> {
  private readonly consumers = new Set<Consumer<E>>();
  private closed = false;

  constructor(private readonly capacity = 10_000) {}

  emit(event: E): void {
    for (const c of this.consumers) c.push(event);
  }

  /** An async iterable of every event from now on, until `close()` or the consumer stops. */
  subscribe(): AsyncIterableIterator<E> {
    const consumer = new Consumer<E>(this.capacity, () => this.consumers.delete(consumer));
    if (this.closed) consumer.end();
    else this.consumers.add(consumer);
    return consumer;
  }

  close(): void {
    this.closed = true;
    for (const c of this.consumers) c.end();
    this.consumers.clear();
  }
}

class Consumer<E> implements AsyncIterableIterator<E> {
  private readonly items: E[] = [];
  private waiter: ((r: IteratorResult<E>) => void) | undefined;
  private done = false;
  dropped = 0;

  constructor(
    private readonly capacity: number,
    private readonly detach: () => void,
  ) {}

  push(event: E): void {
    if (this.done) return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: event, done: false });
      return;
    }
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(event);
  }

  end(): void {
    this.done = true;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<E>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<E>> {
    this.done = true;
    this.items.length = 0;
    this.detach();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<E> {
    return this;
  }
}
