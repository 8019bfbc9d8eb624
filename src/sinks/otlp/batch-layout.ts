/**
 * Lays out an OTLP export request from items already encoded, each one whole
 * (tag, length, body), in a writer in input order, and tagged with its scope:
 *
 *   request { 1: Resource* { 1: resource, 2: Scope* { 1: scope, 2: item…, [3: schema_url] } } }
 *
 * The outer lengths are known once the items are written. With one scope
 * (most batches) the items are written after room left at the front of the
 * writer's memory, the headers go into that room once the lengths are known,
 * and that memory is the request body: nothing copied, no back-patching of
 * large messages. With several, the request is assembled in one pass into
 * fresh memory, runs of items of one scope copied at once.
 *
 * @internal
 */
import { ProtobufWriter, varintSize } from './protobuf-writer.js';

/** Bodies kept for reuse, and the largest kept: a few requests' worth. */
const MAX_FREE_BODIES = 8;
const MAX_FREE_BODY_BYTES = 4 * 1024 * 1024;
/** Room for a scope's head before the items: a longer one (a long scope name) takes the copying path. */
const SCOPE_ROOM = 64;
/** Memory a writer has while it has none of its own (its last went out as a body): any write takes new memory. */
const NO_MEMORY = Buffer.alloc(0);

export class BatchLayout {
  readonly writer = new ProtobufWriter();
  #starts = new Int32Array(1024);
  #scopes = new Int32Array(1024);
  #count = 0;
  /** Per scope, in order of first use: its head (field 1 and tag) and tail (schema_url field). */
  readonly #heads: Uint8Array[] = [];
  readonly #tails: Uint8Array[] = [];
  readonly #index = new Map<string, number>();
  /**
   * Request bodies handed back once their requests settled (`release`), for
   * the next ones: a fresh body's pages fault on first write, 5-12 faults
   * of a 100 KB request. Only memory this layout handed out is taken back.
   */
  readonly #free: ArrayBuffer[] = [];
  readonly #issued = new WeakSet<ArrayBufferLike>();

  /** The Resource field with its tag, that every request of this batch starts with. */
  #resource: Uint8Array = new Uint8Array(0);
  /** Where the items start: the room before them is for the request's headers. */
  #room = 0;
  /** The largest batch's bytes so far: the size of memory the writer takes for the next. */
  #expected = 64 * 1024;

  /** Starts a batch; `resource` is the Resource field with its tag. */
  reset(resource: Uint8Array): void {
    const w = this.writer;
    if (w.buf === NO_MEMORY) w.buf = this.#memory(this.#expected);
    this.#resource = resource;
    this.#room = 12 + resource.length + SCOPE_ROOM;
    w.reset();
    w.ensure(this.#room);
    w.pos = this.#room;
    this.#count = 0;
    this.#heads.length = 0;
    this.#tails.length = 0;
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
    this.#index.set(key, id);
    return id;
  }

  /** Marks the start of the next item, of scope `scope`; an item ends where the next begins (or the batch ends). */
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

  /** Memory of at least `size` bytes: a released body's large enough, or new (not zeroed) rounded up to a power of two, so that it fits the next ones. */
  #memory(size: number): Buffer {
    const free = this.#free;
    for (let i = free.length - 1; i >= 0; i--) {
      const memory = free[i]!;
      if (memory.byteLength >= size) {
        free.splice(i, 1);
        return Buffer.from(memory);
      }
    }
    return Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(Math.max(size, 4096))));
  }

  /** A body of `total` bytes in memory of its own. */
  #body(total: number): Buffer {
    const out = this.#memory(total);
    this.#issued.add(out.buffer);
    return out.subarray(0, total);
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

  /** The request. Empty when there are no items, as the SDK's serializer has it. */
  assemble(): Uint8Array {
    const n = this.#count;
    if (n === 0) return new Uint8Array(0);
    const w = this.writer;
    const end = w.pos;
    if (end > this.#expected) this.#expected = end;
    const resource = this.#resource;
    const heads = this.#heads;
    const tails = this.#tails;
    if (heads.length === 1 && heads[0]!.length <= SCOPE_ROOM) return this.#inPlace(resource, heads[0]!, tails[0]!, end - this.#room);
    const starts = this.#starts;
    const scopes = this.#scopes;
    const sizes = new Array<number>(heads.length).fill(0);
    for (let i = 0; i < n; i++) sizes[scopes[i]!]! += (i + 1 < n ? starts[i + 1]! : end) - starts[i]!;
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
    out[p++] = 0x0a;
    p = putVarint(out, p, resourceContent);
    out.set(resource, p);
    p += resource.length;
    const buf = w.buf;
    for (let s = 0; s < heads.length; s++) {
      out[p++] = 0x12;
      p = putVarint(out, p, scopeContent[s]!);
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

  /** One scope: the tail after the items, the headers in the room before them, and the writer's memory goes out as the body. */
  #inPlace(resource: Uint8Array, head: Uint8Array, tail: Uint8Array, items: number): Uint8Array {
    const w = this.writer;
    if (tail.length > 0) w.raw(tail);
    const scopeContent = head.length + items + tail.length;
    const resourceContent = resource.length + 1 + varintSize(scopeContent) + scopeContent;
    const total = 1 + varintSize(resourceContent) + resourceContent;
    const buf = w.buf;
    const from = this.#room - (total - scopeContent + head.length);
    let p = from;
    buf[p++] = 0x0a;
    p = putVarint(buf, p, resourceContent);
    buf.set(resource, p);
    p += resource.length;
    buf[p++] = 0x12;
    p = putVarint(buf, p, scopeContent);
    buf.set(head, p);
    this.#issued.add(buf.buffer);
    w.buf = NO_MEMORY;
    w.reset();
    return buf.subarray(from, from + total);
  }
}

/** The varint `v` at `p`; returns the position after it. */
function putVarint(out: Uint8Array, p: number, v: number): number {
  while (v > 127) {
    out[p++] = (v & 127) | 128;
    v >>>= 7;
  }
  out[p++] = v;
  return p;
}
