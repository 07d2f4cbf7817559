/**
 * The commands whose answer is awaited (not yet replied), so that shutdown can wait for them,
 * and what shutdown tells those that wait on something else (forwarded waits).
 */
/** Commands whose answer is awaited (not yet replied), so that shutdown can wait for them. */
export class InFlight {
  #count = 0;
  #idle: (() => void) | undefined;
  #closing = false;
  readonly #onClose = new Set<() => void>();

  get closing(): boolean {
    return this.#closing;
  }

  begin(): void {
    this.#count++;
  }

  end(): void {
    if (--this.#count === 0 && this.#idle) {
      this.#idle();
      this.#idle = undefined;
    }
  }

  /** Call `listener` when draining starts (e.g. to answer forwarded waits); returns its removal. */
  onClose(listener: () => void): () => void {
    this.#onClose.add(listener);
    return () => this.#onClose.delete(listener);
  }

  /** Refuse new commands and wait for those in flight. */
  async drain(): Promise<void> {
    this.#closing = true;
    for (const listener of [...this.#onClose]) listener();
    if (this.#count > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }
}
