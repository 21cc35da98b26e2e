/**
 * Decodes a Snapshot without materialising its role bindings (issue 18). A 500,000-binding
 * snapshot decoded whole is 500,000 message objects alive at once: they outlive the young
 * generation, are promoted, and the proxy's heap stays ~200 MiB larger until a major GC that
 * an idle proxy may not run for a long time. Decoded here, the bindings stay in the received
 * bytes and are decoded one at a time while the store indexes them, each dead right after.
 *
 * The Snapshot returned has empty `roleBindings` / `removedRoleBindings`; its bindings and its
 * bytes are reached through {@link wireBindingsOf} (the SnapshotStore does). Small messages
 * are decoded as usual, so nothing else ever sees a snapshot whose lists look empty unless it
 * came through this decoder with more than `lazyAbove` bytes.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { RoleBindingSchema, SnapshotSchema, type RoleBinding, type Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";

/** The bindings of a snapshot decoded by {@link decodeSnapshot}, still on the wire. */
export interface WireBindings {
  /** The message as received (a delta's journal entry is these bytes). */
  readonly bytes: Uint8Array;
  /** role_bindings, decoded one at a time. */
  added(): Iterable<RoleBinding>;
  /** removed_role_bindings, decoded one at a time. */
  removed(): Iterable<RoleBinding>;
}

const ROLE_BINDINGS = 4;
const REMOVED_ROLE_BINDINGS = 13;
/** Messages larger than this keep their bindings on the wire. */
export const LAZY_ABOVE_BYTES = 1024 * 1024;

const onWire = new WeakMap<Snapshot, WireBindings>();

/** The bindings `snapshot` left on the wire, when {@link decodeSnapshot} decoded it lazily. */
export function wireBindingsOf(snapshot: Snapshot): WireBindings | undefined {
  return onWire.get(snapshot);
}

/** The embedded messages of top-level field `fieldNo`, decoded one at a time. */
function* messagesOf(bytes: Uint8Array, fieldNo: number): Generator<RoleBinding> {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (no === fieldNo && wireType === WireType.LengthDelimited) yield fromBinary(RoleBindingSchema, reader.bytes());
    else reader.skip(wireType, no);
  }
}

/** Decodes a Snapshot; above `lazyAbove` bytes its role bindings stay on the wire (see the module comment). */
export function decodeSnapshot(bytes: Uint8Array, lazyAbove = LAZY_ABOVE_BYTES): Snapshot {
  if (bytes.length <= lazyAbove) return fromBinary(SnapshotSchema, bytes);
  // Everything but the binding lists, copied field by field (they are small), then decoded.
  const reader = new BinaryReader(bytes);
  const rest: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [no, wireType] = reader.tag();
    reader.skip(wireType, no);
    if (no !== ROLE_BINDINGS && no !== REMOVED_ROLE_BINDINGS) rest.push(bytes.subarray(start, reader.pos));
  }
  const snapshot = fromBinary(SnapshotSchema, Buffer.concat(rest));
  onWire.set(snapshot, {
    bytes,
    added: () => messagesOf(bytes, ROLE_BINDINGS),
    removed: () => messagesOf(bytes, REMOVED_ROLE_BINDINGS),
  });
  return snapshot;
}
