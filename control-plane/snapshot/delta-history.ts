/**
 * The recent binding deltas, so a watcher at any recent version gets one message with what
 * changed since ITS version (the deltas in between composed), as xDS's delta protocol
 * answers from the version a client acknowledged. Bounded: the last {@link MAX_DELTAS}
 * versions; a watcher further behind (or at a version this process never built, e.g. after
 * a control-plane restart) gets the full snapshot.
 *
 * Each message is made once per (from, current version) and the same object handed to every
 * watcher at `from`: the gRPC adapter encodes a message object once (grpc-adapter.ts), so a
 * change reaching a fleet costs one delta and one encoding, not one per proxy.
 */
import { create } from "@bufbuild/protobuf";
import { SnapshotSchema, type RoleBinding, type Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { bindingResourceKey, type BindingDelta } from "./incremental.js";

/** Versions of history kept. */
export const MAX_DELTAS = 64;

interface Step {
  readonly version: bigint;
  readonly delta: BindingDelta;
}

/** Deltas between consecutive published versions, newest last. */
export class DeltaHistory {
  #steps: Step[] = [];
  // Messages made for the newest version, by the version they start from.
  #made: { version: bigint; messages: Map<bigint, Snapshot | undefined> } = { version: -1n, messages: new Map() };

  /** Records the delta that led to `version`; a delta not based on the newest recorded version starts over. */
  record(version: bigint, delta: BindingDelta | undefined): void {
    const last = this.#steps.at(-1);
    if (delta === undefined || (last !== undefined && last.version !== delta.baseVersion)) this.#steps = [];
    if (delta !== undefined) this.#steps.push({ version, delta });
    this.#made = { version: -1n, messages: new Map() };
    if (this.#steps.length > MAX_DELTAS) this.#steps.shift();
  }

  /**
   * The message that takes a proxy at `from` to `current`: a delta (base_version = from,
   * role_bindings = net added, removed_role_bindings = net removed, the rest complete),
   * or undefined when the history does not reach back to `from` or the delta would not be
   * smaller than the full snapshot.
   */
  deltaMessage(from: bigint, current: Snapshot): Snapshot | undefined {
    if (this.#made.version !== current.version) this.#made = { version: current.version, messages: new Map() };
    const made = this.#made.messages;
    if (!made.has(from)) made.set(from, this.#make(from, current));
    return made.get(from);
  }

  #make(from: bigint, current: Snapshot): Snapshot | undefined {
    const start = this.#steps.findIndex((s) => s.delta.baseVersion === from);
    if (from === 0n || start < 0 || this.#steps.at(-1)!.version !== current.version) return undefined;
    // Net effect per resource: an add undoes an earlier remove and vice versa.
    const net = new Map<string, { op: "add" | "remove"; binding: RoleBinding }>();
    const apply = (op: "add" | "remove", binding: RoleBinding) => {
      const key = bindingResourceKey(binding);
      if (net.get(key)?.op === (op === "add" ? "remove" : "add")) net.delete(key);
      else net.set(key, { op, binding });
    };
    for (const step of this.#steps.slice(start)) {
      for (const b of step.delta.removed) apply("remove", b);
      for (const b of step.delta.added) apply("add", b);
    }
    if (net.size >= current.roleBindings.length && net.size > 0) return undefined;
    const added: RoleBinding[] = [];
    const removed: RoleBinding[] = [];
    for (const { op, binding } of net.values()) (op === "add" ? added : removed).push(binding);
    return create(SnapshotSchema, { ...current, baseVersion: from, roleBindings: added, removedRoleBindings: removed });
  }
}
