// Policy (admins, WRITE): paste a policy file, dry-run it to see the changes, then apply
// exactly the text that was reviewed (any edit disables Apply until the next dry run).
import { useState } from "react";
import { useMutation } from "urql";
import { errorText } from "../api";
import type { PolicyChange } from "../types";

const APPLY = "mutation ApplyPolicy($yaml: String!, $dryRun: Boolean) { applyPolicyFile(yaml: $yaml, dryRun: $dryRun) { dryRun snapshotVersion changes { kind name action } } }";

interface Applied {
  applyPolicyFile: { dryRun: boolean; snapshotVersion: string; changes: PolicyChange[] };
}

export function PolicyPage() {
  const [yaml, setYaml] = useState("");
  const [reviewed, setReviewed] = useState<string | undefined>(); // the text of the last successful dry run
  const [outcome, setOutcome] = useState<Applied["applyPolicyFile"] | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [{ fetching }, apply] = useMutation<Applied>(APPLY);
  const run = async (dryRun: boolean) => {
    const text = yaml;
    const result = await apply({ yaml: text, dryRun });
    if (result.error || !result.data) {
      setProblem(result.error ? errorText(result.error) : "no answer");
      setOutcome(undefined);
      setReviewed(undefined);
      return;
    }
    setProblem(undefined);
    setOutcome(result.data.applyPolicyFile);
    setReviewed(result.data.applyPolicyFile.dryRun ? text : undefined);
  };
  const changed = outcome?.changes.filter((c) => c.action !== "unchanged") ?? [];
  return (
    <>
      <h1>Policy</h1>
      <p>Paste a policy file, review the changes of a dry run, then apply them.</p>
      <textarea id="policy-yaml" aria-label="policy file (YAML)" spellCheck={false} value={yaml} onChange={(e) => setYaml(e.target.value)} />
      <p>
        <button type="button" id="policy-dry-run" disabled={fetching} onClick={() => void run(true)}>
          Dry run
        </button>{" "}
        <button type="button" id="policy-apply" disabled={fetching || reviewed === undefined || reviewed !== yaml} onClick={() => void run(false)}>
          Apply
        </button>
      </p>
      <div id="policy-result">
        {problem ? (
          <p className="error" role="alert">
            {problem}
          </p>
        ) : outcome ? (
          <>
            <p>{outcome.dryRun ? `Dry run: ${changed.length} change(s), nothing written.` : `Applied: snapshot version ${outcome.snapshotVersion}.`}</p>
            <table>
              <tbody>
                {outcome.changes.map((c, i) => (
                  <tr key={i} className={c.action === "unchanged" ? "muted" : undefined}>
                    <td>{c.action}</td>
                    <td>{c.kind}</td>
                    <td>{c.name}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </div>
    </>
  );
}
