import { GraphQLError } from "graphql";
import { CpError, toGraphQLError } from "../errors.js";
import { formatError } from "./format-error.js";

const format = (error: GraphQLError) => formatError({ ...error.toJSON(), extensions: { ...error.extensions, stacktrace: ["at secret.ts:1"] } }, error);

describe("formatError", () => {
  test("typed errors keep code, message and problems, and lose the stack", () => {
    const out = format(new GraphQLError("wrapped", { path: ["createPolicy"], originalError: new CpError("BAD_USER_INPUT", "invalid input", ["policy: bad"]) }));
    expect(out).toEqual({ message: "invalid input", path: ["createPolicy"], extensions: { code: "BAD_USER_INPUT", problems: ["policy: bad"] } });
  });

  test("anything unexpected becomes INTERNAL without its message", () => {
    const leaky = new Error('Invalid `prisma.policy.create()` invocation: column "secret" ... at /srv/app.ts:12');
    for (const error of [toGraphQLError(leaky), new GraphQLError(leaky.message, { originalError: leaky }), new GraphQLError("boom", { extensions: { code: "INTERNAL_SERVER_ERROR" } })]) {
      const out = format(error);
      expect(out.message).toBe("internal error");
      expect(out.extensions).toEqual({ code: "INTERNAL" });
      expect(JSON.stringify(out)).not.toMatch(/prisma|secret|stacktrace/);
    }
  });

  test("Apollo's own client errors pass with their code only", () => {
    const out = format(new GraphQLError('Cannot query field "nope" on type "Query".', { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }));
    expect(out).toEqual({ message: 'Cannot query field "nope" on type "Query".', extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
  });
});
