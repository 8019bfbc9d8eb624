/**
 * Lays out an OTLP export request from items already encoded, each one whole
 * (tag, length, body), in a writer in input order, and tagged with its scope:
 *
 *   request { 1: Resource* { 1: resource, 2: Scope* { 1: scope, 2: item…, [3: schema_url] } } }
 *
 * The outer lengths are known once the items are written, so the request is
 * assembled in one pass into a fresh array: no back-patching of large
 * messages, and runs of items of one scope are copied at once.
 *
 * @internal
 */
import { ProtobufWriter, varintSize } from './protobuf-writer.js';

/** Bodies kept for reuse, and the largest kept: a few requests' worth. */
const MAX_FREE_BODIES = 8;
const MAX_FREE_BODY_BYTES = 4 * 1024 * 1024;

export class BatchLayout {
  readonly writer = new ProtobufWriter();
  #starts = new Int32Array(1024);
  #scopes = new Int32Array(1024);
  #count = 0;
  /** Per scope, in order of first use: its head (field 1 and tag), tail (schema_url field) and item bytes. */
  readonly #heads: Uint8Array[] = [];
  readonly #tails: Uint8Array[] = [];
  #sizes: number[] = [];
  readonly #index = new Map<string, number>();
  /**
   * Request bodies handed back once their requests settled (`release`), for
   * the next ones: a fresh body's pages fault on first write, 5-12 faults
   * of a 100 KB request. Only memory this layout handed out is taken back.
   */
  readonly #free: ArrayBuffer[] = [];
  readonly #issued = new WeakSet<ArrayBufferLike>();

  reset(): void {
    this.writer.reset();
    this.#count = 0;
    this.#heads.length = 0;
    this.#tails.length = 0;
    this.#sizes = [];
    this.#index.clear();
  }

  /** The scope's number in this batch, or -1 when it has none yet (then {@link addScope}). */
  scope(key: string): number {
    return this.#index.get(key) ?? -1;
  }

  /** Numbers a new scope: `head` is ScopeX's field 1 with its tag, `tail` its schema_url field (or nothing). */
  addScope(key: string, head: Uint8Array, tail: Uint8Array): number {
    const id = this.#heads.length;
    this.#heads.push(head);
    this.#tails.push(tail);
    this.#sizes.push(0);
    this.#index.set(key, id);
    return id;
  }

  /** Marks the start of the next item, of scope `scope`. */
  begin(scope: number): void {
    if (this.#count === this.#starts.length) {
      const starts = new Int32Array(this.#count * 2);
      starts.set(this.#starts);
      this.#starts = starts;
      const scopes = new Int32Array(this.#count * 2);
      scopes.set(this.#scopes);
      this.#scopes = scopes;
    }
    this.#starts[this.#count] = this.writer.pos;
    this.#scopes[this.#count++] = scope;
  }

  /** Ends the item begun last. */
  end(): void {
    const i = this.#count - 1;
    this.#sizes[this.#scopes[i]!]! += this.writer.pos - this.#starts[i]!;
  }

  /** A body of `total` bytes: a released one large enough, or new memory rounded up to a power of two (so that it fits the next ones). */
  #body(total: number): Buffer {
    const free = this.#free;
    for (let i = free.length - 1; i >= 0; i--) {
      const memory = free[i]!;
      if (memory.byteLength >= total) {
        free.splice(i, 1);
        this.#issued.add(memory);
        return Buffer.from(memory, 0, total);
      }
    }
    const memory = new ArrayBuffer(2 ** Math.ceil(Math.log2(Math.max(total, 4096))));
    this.#issued.add(memory);
    return Buffer.from(memory, 0, total);
  }

  /**
   * Hand back a body `assemble` made, once nothing reads it any more (its
   * request settled; or it was compressed). Anything else is ignored, and a
   * body handed back twice is taken once.
   */
  release(body: Uint8Array): void {
    const memory = body.buffer;
    if (!this.#issued.has(memory)) return;
    this.#issued.delete(memory);
    if (this.#free.length < MAX_FREE_BODIES && memory.byteLength <= MAX_FREE_BODY_BYTES) this.#free.push(memory as ArrayBuffer);
  }

  /** The request: `resource` is the Resource field with its tag. Empty when there are no items, as the SDK's serializer has it. */
  assemble(resource: Uint8Array): Uint8Array {
    const n = this.#count;
    if (n === 0) return new Uint8Array(0);
    const heads = this.#heads;
    const tails = this.#tails;
    const sizes = this.#sizes;
    let resourceContent = resource.length;
    const scopeContent: number[] = [];
    for (let s = 0; s < heads.length; s++) {
      const c = heads[s]!.length + sizes[s]! + tails[s]!.length;
      scopeContent.push(c);
      resourceContent += 1 + varintSize(c) + c;
    }
    const total = 1 + varintSize(resourceContent) + resourceContent;
    const out = this.#body(total);
    let p = 0;
    const varint = (v: number): void => {
      while (v > 127) {
        out[p++] = (v & 127) | 128;
        v >>>= 7;
      }
      out[p++] = v;
    };
    out[p++] = 0x0a;
    varint(resourceContent);
    out.set(resource, p);
    p += resource.length;
    const buf = this.writer.buf;
    const starts = this.#starts;
    const scopes = this.#scopes;
    const end = this.writer.pos;
    for (let s = 0; s < heads.length; s++) {
      out[p++] = 0x12;
      varint(scopeContent[s]!);
      out.set(heads[s]!, p);
      p += heads[s]!.length;
      for (let i = 0; i < n; i++) {
        if (scopes[i] !== s) continue;
        const from = starts[i]!;
        while (i + 1 < n && scopes[i + 1] === s) i++;
        const to = i + 1 < n ? starts[i + 1]! : end;
        buf.copy(out, p, from, to);
        p += to - from;
      }
      out.set(tails[s]!, p);
      p += tails[s]!.length;
    }
    return out;
  }
}
