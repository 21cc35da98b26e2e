// Shapes of the GraphQL answers the pages read (the fields they select, nothing more).
export interface Viewer {
  readonly actor: string;
  readonly scopes: readonly string[];
}

export interface Approval {
  readonly id: string;
  readonly requesterSubject: string;
  readonly requesterEmail: string | null;
  readonly graph: string;
  readonly operation: string;
  readonly parameters: unknown;
  readonly reason: string | null;
  readonly status: string;
  readonly reviewer: string | null;
  readonly reviewNote: string | null;
  readonly createdAt: string;
  readonly decidedAt: string | null;
}

export interface Notification {
  readonly url: string;
  readonly status: string;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
}

export interface SessionSummary {
  readonly id: string;
  readonly startedAt: string;
  readonly subject: string | null;
  readonly email: string | null;
  readonly graph: string | null;
  readonly operation: string | null;
  readonly decision: string;
  readonly status: number;
  readonly durationMs: number;
  readonly proxyId: string;
}

export interface ReplayEvent {
  readonly offsetMs: number;
  readonly event: string;
  readonly data: string;
}

export interface SessionDetail extends SessionSummary {
  readonly seq: string;
  readonly issuer: string | null;
  readonly groups: readonly string[];
  readonly reasons: readonly string[];
  readonly method: string;
  readonly path: string;
  readonly requestJson: unknown;
  readonly responseJson: unknown;
  readonly events: readonly ReplayEvent[];
  readonly maskCounts: unknown;
  readonly errorCode: string | null;
}

export interface Anomaly {
  readonly rule: string;
  readonly subject: string;
  readonly email: string | null;
  readonly count: number;
  readonly detail: string;
}

export interface ChainReport {
  readonly proxyId: string;
  readonly records: number;
  readonly ok: boolean;
  readonly problems: ReadonlyArray<{ readonly seq: string; readonly kind: string }>;
}

export interface Proxy {
  readonly id: string;
  readonly address: string;
  readonly connected: boolean;
  readonly ackedVersion: string | null;
  readonly lastError: string | null;
  readonly rejectedVersion: string | null;
  readonly lastSeen: string;
}

export interface PolicyChange {
  readonly kind: string;
  readonly name: string;
  readonly action: string;
}

export type Edges<T> = { readonly edges: ReadonlyArray<{ readonly node: T }> };
