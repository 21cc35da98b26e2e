/** Custom scalars: DateTime (ISO-8601 UTC strings) and JSON (output-only audit states). */
import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

function toDate(value: unknown): Date {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new GraphQLError("DateTime must be an ISO-8601 string such as 2026-11-25T13:45:00Z");
  }
  return new Date(value);
}

/** An instant; serialized as `toISOString()`, parsed from ISO-8601 strings with a time. */
export const DateTimeScalar = new GraphQLScalarType({
  name: "DateTime",
  serialize: (value) => (value instanceof Date ? value.toISOString() : toDate(value).toISOString()),
  parseValue: toDate,
  parseLiteral: (ast) => toDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

/** Any JSON value, passed through as is. Output only: inputs are always typed. */
export const JsonScalar = new GraphQLScalarType({
  name: "JSON",
  serialize: (value) => value,
  parseValue: () => {
    throw new GraphQLError("JSON is an output-only type");
  },
  parseLiteral: () => {
    throw new GraphQLError("JSON is an output-only type");
  },
});
