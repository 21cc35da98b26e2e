/**
 * The one place where a generated protobuf-es service descriptor meets @grpc/grpc-js
 * (DESIGN.md §3): every method's path, (de)serializers and streaming flags come from
 * the descriptor, so no RPC is wired by hand twice, and the handler and client types
 * are derived from the same descriptor (EXAMPLES.md habit 9).
 *
 * Server side: `grpcServiceDefinition(PolicyService)` + an implementation typed
 * `GrpcServiceImpl<typeof PolicyService>` go to `server.addService(...)`.
 * Client side: `makeGrpcClient(PolicyService, address, credentials, options)` returns a
 * grpc-js client whose methods (`watch`, `ack`, ...) are typed from the descriptor;
 * `callUnary` wraps a unary method in a promise.
 *
 * Messages going out may be full messages or init objects (`{ proxyId: "p1" }`): the
 * serializer `create`s the message when needed. Messages coming in are full messages.
 */
import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

/** Methods of a service descriptor, keyed by their ECMAScript `localName` (`watch`, `ack`). */
type MethodsOf<S extends DescService> = S["method"];

/** The decoded request (or response) message of a method side. */
type In<D extends DescMessage> = MessageShape<D>;
/** What may be handed to the encoder: a full message or an init object. */
type Out<D extends DescMessage> = MessageInitShape<D>;

/**
 * The grpc-js handler type for one method, chosen by the descriptor's `methodKind`:
 * requests arrive decoded (`MessageShape`), responses may be written as init objects.
 */
export type GrpcHandler<M extends DescMethod> = M["methodKind"] extends "unary"
  ? grpc.handleUnaryCall<In<M["input"]>, Out<M["output"]>>
  : M["methodKind"] extends "server_streaming"
    ? grpc.handleServerStreamingCall<In<M["input"]>, Out<M["output"]>>
    : M["methodKind"] extends "client_streaming"
      ? grpc.handleClientStreamingCall<In<M["input"]>, Out<M["output"]>>
      : grpc.handleBidiStreamingCall<In<M["input"]>, Out<M["output"]>>;

/**
 * A complete server implementation of a service: one handler per method, keyed by
 * `localName`. Use with `satisfies GrpcServiceImpl<typeof PolicyService>`.
 */
export type GrpcServiceImpl<S extends DescService> = {
  [K in keyof MethodsOf<S>]: MethodsOf<S>[K] extends DescMethod ? GrpcHandler<MethodsOf<S>[K]> : never;
};

/** The grpc-js client method type for one RPC, chosen by the descriptor's `methodKind`. */
export type GrpcClientMethod<M extends DescMethod> = M["methodKind"] extends "unary"
  ? UnaryClientMethod<Out<M["input"]>, In<M["output"]>>
  : M["methodKind"] extends "server_streaming"
    ? (request: Out<M["input"]>, metadata?: grpc.Metadata, options?: grpc.CallOptions) => grpc.ClientReadableStream<In<M["output"]>>
    : M["methodKind"] extends "client_streaming"
      ? ClientStreamingClientMethod<Out<M["input"]>, In<M["output"]>>
      : (metadata?: grpc.Metadata, options?: grpc.CallOptions) => grpc.ClientDuplexStream<Out<M["input"]>, In<M["output"]>>;

/** grpc-js's unary call overloads (the ones `makeClientConstructor` produces). */
interface UnaryClientMethod<I, O> {
  (request: I, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<O>): grpc.ClientUnaryCall;
  (request: I, metadata: grpc.Metadata, callback: grpc.requestCallback<O>): grpc.ClientUnaryCall;
  (request: I, options: grpc.CallOptions, callback: grpc.requestCallback<O>): grpc.ClientUnaryCall;
  (request: I, callback: grpc.requestCallback<O>): grpc.ClientUnaryCall;
}

/** grpc-js's client-streaming call overloads. */
interface ClientStreamingClientMethod<I, O> {
  (metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<O>): grpc.ClientWritableStream<I>;
  (metadata: grpc.Metadata, callback: grpc.requestCallback<O>): grpc.ClientWritableStream<I>;
  (options: grpc.CallOptions, callback: grpc.requestCallback<O>): grpc.ClientWritableStream<I>;
  (callback: grpc.requestCallback<O>): grpc.ClientWritableStream<I>;
}

/** A grpc-js client with one typed method per RPC of the service (keyed by `localName`). */
export type GrpcClient<S extends DescService> = grpc.Client & {
  [K in keyof MethodsOf<S>]: MethodsOf<S>[K] extends DescMethod ? GrpcClientMethod<MethodsOf<S>[K]> : never;
};

/** The `localName`s of a service's unary methods (for `callUnary`). */
export type UnaryMethodName<S extends DescService> = {
  [K in keyof MethodsOf<S>]: MethodsOf<S>[K] extends { methodKind: "unary" } ? K : never;
}[keyof MethodsOf<S>] &
  string;

type MethodAt<S extends DescService, K extends keyof MethodsOf<S>> = MethodsOf<S>[K] extends DescMethod
  ? MethodsOf<S>[K]
  : never;

/**
 * Messages written to many streams unchanged: encoded once, not once per stream. A
 * published policy snapshot is immutable and goes to every watching proxy (at 50,000
 * bindings, ~20 ms of encoding per proxy otherwise).
 */
const ENCODE_ONCE: ReadonlySet<string> = new Set(["agentgate.v1.Snapshot"]);
const encoded = new WeakMap<object, Buffer>();

/** Encoder for one message type: accepts a full message or an init object. */
function serializer<D extends DescMessage>(schema: D): grpc.serialize<Out<D>> {
  const cache = ENCODE_ONCE.has(schema.typeName);
  return (value) => {
    if (cache) {
      const hit = encoded.get(value);
      if (hit) return hit;
    }
    // Handlers may write init objects; only those need `create` (full messages are encoded as is).
    const message = isMessage(value, schema) ? value : create(schema, value);
    const bytes = toBinary(schema, message);
    // Zero-copy view: grpc-js wants a Buffer, toBinary gives a Uint8Array.
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (cache) encoded.set(value, buffer);
    return buffer;
  };
}

/** Decoder for one message type. Throws on malformed bytes; grpc-js turns that into INTERNAL. */
function deserializer<D extends DescMessage>(schema: D): grpc.deserialize<In<D>> {
  return (bytes) => fromBinary(schema, bytes);
}

/** A decoder that replaces `fromBinary` for one message type (by type name), e.g. a lazy one. */
export type MessageDecoders = ReadonlyMap<string, (bytes: Uint8Array) => unknown>;

/** The grpc-js method definition of one RPC, derived from its descriptor. */
function methodDefinition(method: DescMethod, decoders?: MessageDecoders): grpc.MethodDefinition<unknown, unknown> {
  const kind = method.methodKind;
  return {
    // e.g. "/agentgate.v1.PolicyService/Watch": the wire path uses the proto names.
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: kind === "client_streaming" || kind === "bidi_streaming",
    responseStream: kind === "server_streaming" || kind === "bidi_streaming",
    requestSerialize: serializer(method.input) as grpc.serialize<unknown>,
    requestDeserialize: deserializer(method.input),
    responseSerialize: serializer(method.output) as grpc.serialize<unknown>,
    responseDeserialize: decoders?.get(method.output.typeName) ?? deserializer(method.output),
  };
}

// Definitions are pure functions of the (immutable) descriptor: build each once.
const definitions = new WeakMap<DescService, grpc.ServiceDefinition>();
const clientConstructors = new WeakMap<DescService, grpc.ServiceClientConstructor>();

/**
 * Turns a generated service descriptor into a grpc-js `ServiceDefinition`, keyed by each
 * method's `localName` (so the implementation object is `{ watch, ack }`).
 */
export function grpcServiceDefinition<S extends DescService>(service: S): grpc.ServiceDefinition<GrpcServiceImpl<S>> {
  let definition = definitions.get(service);
  if (definition === undefined) {
    const entries = service.methods.map((m) => [m.localName, methodDefinition(m)] as const);
    definition = Object.freeze(Object.fromEntries(entries));
    definitions.set(service, definition);
  }
  return definition as grpc.ServiceDefinition<GrpcServiceImpl<S>>;
}

/** Registers a typed implementation of a generated service on a grpc-js server. */
export function addGrpcService<S extends DescService>(server: grpc.Server, service: S, impl: GrpcServiceImpl<S>): void {
  server.addService(grpcServiceDefinition(service), impl);
}

/** A service descriptor paired with its implementation, ready to be added to a server. */
export interface GrpcServiceBinding {
  readonly typeName: string;
  addTo(server: grpc.Server): void;
}

/**
 * Pairs a service with a typed implementation (checked here, at the call site), so a list
 * of heterogeneous services can be handed to a server factory.
 */
export function bindGrpcService<S extends DescService>(service: S, impl: GrpcServiceImpl<S>): GrpcServiceBinding {
  return { typeName: service.typeName, addTo: (server) => addGrpcService(server, service, impl) };
}

/**
 * Creates a grpc-js client for a generated service; its methods are typed from the
 * descriptor. Close it with `client.close()`. `decoders` replace the decoding of responses
 * of the given message types (the caller's decoder must return that type).
 */
export function makeGrpcClient<S extends DescService>(
  service: S,
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
  decoders?: MessageDecoders,
): GrpcClient<S> {
  let ctor = decoders === undefined ? clientConstructors.get(service) : undefined;
  if (ctor === undefined) {
    const definition = decoders === undefined ? grpcServiceDefinition(service) : Object.fromEntries(service.methods.map((m) => [m.localName, methodDefinition(m, decoders)]));
    ctor = grpc.makeClientConstructor(definition, service.typeName);
    if (decoders === undefined) clientConstructors.set(service, ctor);
  }
  return new ctor(address, credentials, options) as unknown as GrpcClient<S>;
}

/** Per-call options of `callUnary`. */
export interface UnaryCallOptions {
  metadata?: grpc.Metadata;
  /** Absolute deadline, or milliseconds from now. */
  deadline?: Date | number;
}

/**
 * Calls a unary method and resolves with its response, or rejects with the grpc-js
 * `ServiceError` (which carries `code`, a `grpc.status`).
 */
export function callUnary<S extends DescService, K extends UnaryMethodName<S>>(
  client: GrpcClient<S>,
  method: K,
  request: Out<MethodAt<S, K>["input"]>,
  options: UnaryCallOptions = {},
): Promise<In<MethodAt<S, K>["output"]>> {
  const callOptions: grpc.CallOptions = {};
  if (options.deadline !== undefined) {
    callOptions.deadline = typeof options.deadline === "number" ? Date.now() + options.deadline : options.deadline;
  }
  // The mapped type cannot be narrowed by K inside the body; the signature above is the contract.
  const fn = client[method] as unknown as (
    request: unknown,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<In<MethodAt<S, K>["output"]>>,
  ) => grpc.ClientUnaryCall;
  return new Promise((resolve, reject) => {
    fn.call(client, request, options.metadata ?? new grpc.Metadata(), callOptions, (err, value) => {
      if (err !== null) reject(err);
      else resolve(value as In<MethodAt<S, K>["output"]>);
    });
  });
}

// ---------------------------------------------------------------------------------------
// Transport glue shared by every client of the contract (watch, report, approval) and by
// the control-plane server: TLS credentials and the proxy's bearer token.

/** PEM material for TLS. Server: cert+key (ca = require client certs, mTLS). Client: ca to trust, cert+key for mTLS. */
export interface TlsFiles {
  cert?: Buffer | string;
  key?: Buffer | string;
  ca?: Buffer | string;
}

function pem(value: Buffer | string | undefined): Buffer | null {
  return value === undefined ? null : Buffer.isBuffer(value) ? value : Buffer.from(value);
}

/** True for hosts that never leave the machine (where plaintext is acceptable for dev). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The host part of a gRPC target such as "127.0.0.1:50051", "[::1]:50051" or "dns:///cp:443". */
export function targetHost(address: string): string {
  // Unix domain sockets never leave the machine.
  if (/^unix(-abstract)?:/i.test(address)) return "localhost";
  const bare = address.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/i, "");
  const bracketed = /^\[([^\]]+)\]/.exec(bare);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  return bare.split(":")[0] ?? bare;
}

/**
 * Client channel credentials: TLS when `tls` is given; plaintext only to a loopback host
 * or when `allowInsecure` is set explicitly, because the bearer token and the snapshots
 * (upstream credentials) would otherwise cross the network in clear.
 */
export function channelCredentials(address: string, tls?: TlsFiles, allowInsecure = false): grpc.ChannelCredentials {
  if (tls !== undefined) return grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
  if (!allowInsecure && !isLoopbackHost(targetHost(address))) {
    throw new Error(`refusing plaintext gRPC to non-loopback ${address}: configure TLS or allow insecure explicitly`);
  }
  return grpc.credentials.createInsecure();
}

/**
 * A client interceptor adding `authorization: Bearer <token>` to every call. An
 * interceptor (not call credentials) because grpc-js refuses call credentials on
 * plaintext channels, which loopback dev setups use.
 */
export function bearerInterceptor(token: string): grpc.Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", value);
        next(metadata, listener);
      },
    });
}
