import type { CombinedError } from "urql";
import { errorText } from "../api";

export function ErrorBox({ error }: { error: CombinedError | Error }) {
  return (
    <p className="error" role="alert">
      {"graphQLErrors" in error ? errorText(error) : error.message}
    </p>
  );
}
