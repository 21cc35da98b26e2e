/**
 * Fake secrets planted by the `leaky` graph, exported so tests can assert that
 * none of them survives the gateway's masking.
 *
 * Every value is fake but format-valid: card numbers pass the Luhn check,
 * IBANs pass mod-97, the JWT is a well-formed HS256 token, the AWS key is not
 * AWS's documented `...EXAMPLE` key (detectors often allow-list that one).
 */

/** Planted values by kind. `passwords` can only be caught by key-name rules. */
export const PLANTED = {
  emails: ["alice.doe@example.com", "bob+billing@corp.example.org"],
  creditCards: ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117"],
  ibans: ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"],
  phones: ["+1 415-555-0132", "+44 20 7946 0958"],
  awsAccessKeyIds: ["AKIAF7MVGB8IN2C9NBRO"],
  awsSecretAccessKeys: ["0s+K1221vGgWEEE62B/xsfVTy4GDxXqPwfITXl2O"],
  githubTokens: ["ghp_t3v26mRAUwLdw8vUstdeitqBxQ3gz2LUfhrL"],
  openaiKeys: ["sk-proj-aEQ3btzFc5zERGleVDy-KlnsPtK1Z8nmeBwvdzkN-KYnRYIyT3BlbkFJgq41OBduFJ20k5ETgDwm"],
  jwts: [
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZUBleGFtcGxlLmNvbSIsIm5hbWUiOiJBbGljZSBEZW1vIiwicm9sZSI6ImFkbWluIiwiaWF0IjoxNzY0MDAwMDAwfQ.WHjtv6gfpiIYZ9VUxvDVCaLmSLEnMJmwWO7Er-9v_qg",
  ],
  privateKeys: [
    [
      "-----BEGIN PRIVATE KEY-----",
      "HXxGuIobffT3tkDBxFhcKvK6Obpq2CCo3kK+HZz5Fp5fBlTxzDD6uRnJ+7FENTlu",
      "PdoBbA52/SMwtepJuLu+YRDZqA9wQrBiozwSIVB1dOQGlpPlsFaLuqqo",
      "-----END PRIVATE KEY-----",
    ].join("\n"),
  ],
  passwords: ["Tr0ub4dor&3-demo"],
} as const;

/** Kind of a planted secret (a key of {@link PLANTED}). */
export type PlantedKind = keyof typeof PLANTED;

/** Every planted value with its kind, flattened. */
export const ALL_PLANTED: ReadonlyArray<{ kind: PlantedKind; value: string }> = (
  Object.entries(PLANTED) as Array<[PlantedKind, readonly string[]]>
).flatMap(([kind, values]) => values.map((value) => ({ kind, value })));

const [email0, email1] = PLANTED.emails;
const [card0, card1, card2, card3] = PLANTED.creditCards;
const [iban0, iban1] = PLANTED.ibans;
const [phone0, phone1] = PLANTED.phones;

/** The JSON record the `leaky` graph returns in its `leaked` state field. */
export const LEAKY_RECORD = {
  customer: { name: "Alice Doe", email: email0, phone: phone0, card: card0, iban: iban0 },
  payment_methods: [
    { type: "mastercard", number: card1 },
    { type: "amex", number: card2 },
    { type: "discover", number: card3 },
  ],
  credentials: {
    aws_access_key_id: PLANTED.awsAccessKeyIds[0],
    aws_secret_access_key: PLANTED.awsSecretAccessKeys[0],
    github_token: PLANTED.githubTokens[0],
    openai_api_key: PLANTED.openaiKeys[0],
    session_jwt: PLANTED.jwts[0],
    private_key: PLANTED.privateKeys[0],
    password: PLANTED.passwords[0],
  },
  notes: `Escalate to ${email1} or ${phone1}; refunds go to ${iban1}.`,
};

/** The card number the streamed message splits across three chunks. */
export const SPLIT_CARD = card0;

/**
 * The AI message of the `leaky` graph, in the exact chunks it is streamed in.
 * The card is split in three ("4111 1111" / " 1111 " / "1111"), the email and
 * the AWS key in two, so a masker must hold back across chunks of one message.
 */
export const LEAKY_STREAM_CHUNKS: readonly string[] = [
  "Here is what I found. ",
  "Card: ",
  "4111 1111",
  " 1111 ",
  "1111",
  ". Email: alice.",
  "doe@example.com",
  ". AWS key: AKIAF7MV",
  "GB8IN2C9NBRO",
  `. IBAN: ${iban0}`,
  `. Phone: ${phone0}.`,
];

/** The whole streamed AI message text. */
export const LEAKY_MESSAGE_TEXT = LEAKY_STREAM_CHUNKS.join("");

// Separators that formats allow inside a value (card groups, IBAN blocks, phones).
const SEPARATORS = /[\s-]+/g;

// For multi-line secrets (PEM) the longest line is searched: the block as a
// whole appears JSON-escaped ("\n") in response bodies.
function needleOf(value: string): string {
  return value.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "");
}

/**
 * Planted secrets that still appear in `output` (a string, or any value, which
 * is JSON-serialized first). A value counts as present if it appears verbatim
 * or with spaces/dashes removed from both sides, so a re-formatted card still
 * counts. Returns an empty array when nothing leaked.
 */
export function findPlantedSecrets(output: unknown): Array<{ kind: PlantedKind; value: string }> {
  const text = typeof output === "string" ? output : JSON.stringify(output) ?? "";
  const compact = text.replace(SEPARATORS, "");
  return ALL_PLANTED.filter(({ value }) => {
    const needle = needleOf(value);
    return text.includes(needle) || compact.includes(needle.replace(SEPARATORS, ""));
  });
}

/** Defaults of the `slow` graph: `steps` updates, one every `delay_ms`. */
export const SLOW_DEFAULTS = { steps: 5, delay_ms: 200 } as const;

/** Upper bounds of the `slow` graph's inputs (steps stay under recursion_limit 25). */
export const SLOW_LIMITS = { steps: 20, delay_ms: 10_000 } as const;

/** Token usage the `slow` graph reports on its final AI message. */
export const SLOW_USAGE = { input_tokens: 42, output_tokens: 7, total_tokens: 49 } as const;
