import type { Detector } from "../types.js";
import { anthropicKey } from "./anthropic-key.js";
import { awsAccessKey } from "./aws-access-key.js";
import { awsSecret } from "./aws-secret.js";
import { creditCard } from "./credit-card.js";
import { cryptoWallet } from "./crypto-wallet.js";
import { email } from "./email.js";
import { genericSecret } from "./generic-secret.js";
import { githubToken } from "./github-token.js";
import { gitlabToken } from "./gitlab-token.js";
import { googleApiKey } from "./google-api-key.js";
import { iban } from "./iban.js";
import { ipAddress } from "./ip-address.js";
import { jwt } from "./jwt.js";
import { openaiKey } from "./openai-key.js";
import { phone } from "./phone.js";
import { privateKey } from "./private-key.js";
import { slackToken } from "./slack-token.js";
import { slackWebhook } from "./slack-webhook.js";
import { stripeKey } from "./stripe-key.js";
import { usSsn } from "./us-ssn.js";

/**
 * Every built-in detector by name, in default-profile priority order: block and prefixed
 * credentials first (most specific), then structured PII, then the contextual heuristics.
 * When spans overlap, the earlier rule names the merged span.
 */
export const BUILTIN_DETECTORS: ReadonlyMap<string, Detector> = new Map(
  [
    privateKey,
    jwt,
    awsAccessKey,
    githubToken,
    gitlabToken,
    slackWebhook,
    slackToken,
    anthropicKey,
    openaiKey,
    stripeKey,
    googleApiKey,
    creditCard,
    iban,
    usSsn,
    email,
    cryptoWallet,
    ipAddress,
    phone,
    awsSecret,
    genericSecret,
  ].map((d) => [d.name, d] as const),
);
