// Fleet (admins, READ): proxies with connection, applied snapshot version and last error;
// roles and policies.
import { useQuery } from "urql";
import type { Edges, Proxy } from "../types";
import { ErrorBox } from "./common";

const FLEET = `query Fleet {
  snapshot { version createdAt }
  proxies(first: 100) { edges { node { id address connected ackedVersion lastError rejectedVersion lastSeen } } }
  roles(first: 100) { edges { node { name description } } }
  policies(first: 100) { edges { node { name role { name } graphs operations } } }
}`;

interface FleetData {
  snapshot: { version: string; createdAt: string };
  proxies: Edges<Proxy>;
  roles: Edges<{ name: string; description: string | null }>;
  policies: Edges<{ name: string; role: { name: string }; graphs: string[]; operations: string[] }>;
}

export function FleetPage() {
  const [{ data, error }] = useQuery<FleetData>({ query: FLEET, requestPolicy: "network-only" });
  if (error || !data) {
    return (
      <>
        <h1>Fleet</h1>
        {error ? <ErrorBox error={error} /> : <p>Loading…</p>}
      </>
    );
  }
  const current = data.snapshot.version;
  return (
    <>
      <h1>Fleet</h1>
      <p>Snapshot served: version {current}</p>
      <table id="proxies">
        <thead>
          <tr>
            {["Proxy", "Address", "Connected", "Applied version", "Last error", "Last seen"].map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.proxies.edges.map(({ node: p }) => (
            <tr key={p.id} data-id={p.id}>
              <td>{p.id}</td>
              <td>{p.address}</td>
              <td className={p.connected ? "ok" : "bad"}>{p.connected ? "yes" : "no"}</td>
              <td className={p.ackedVersion === current ? "ok" : "bad"}>{p.ackedVersion ?? "none"}</td>
              <td>{p.lastError ? `${p.lastError} (version ${p.rejectedVersion})` : ""}</td>
              <td>{new Date(p.lastSeen).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Roles</h2>
      <ul id="roles">
        {data.roles.edges.map(({ node: r }) => (
          <li key={r.name}>
            {r.name}
            {r.description ? ` — ${r.description}` : ""}
          </li>
        ))}
      </ul>
      <h2>Policies</h2>
      <ul id="policies">
        {data.policies.edges.map(({ node: p }) => (
          <li key={p.name}>
            {p.name}: role {p.role.name}, graphs {p.graphs.join(", ")}, operations {p.operations.join(", ")}
          </li>
        ))}
      </ul>
    </>
  );
}
