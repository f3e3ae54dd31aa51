/**
 * Bytes arriving in chunks of any size, taken out in exact lengths: what a block-framed codec
 * needs to read headers and blocks that straddle chunk boundaries. Copies only when a read
 * spans chunks.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private offset = 0;
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next `n` bytes without taking them, or undefined when fewer are queued. */
  peek(n: number): Buffer | undefined {
    if (n > this.length) return undefined;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    for (let i = 0; copied < n; i++) {
      const chunk = this.chunks[i]!;
      const start = i === 0 ? this.offset : 0;
      copied += chunk.copy(out, copied, start, Math.min(chunk.length, start + n - copied));
    }
    return out;
  }

  /** Takes the next `n` bytes, or undefined when fewer are queued. */
  take(n: number): Buffer | undefined {
    const out = this.peek(n);
    if (out === undefined) return undefined;
    let left = n;
    while (left > 0) {
      const available = this.chunks[0]!.length - this.offset;
      if (available > left) {
        this.offset += left;
        left = 0;
      } else {
        left -= available;
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.length -= n;
    return out;
  }
}
