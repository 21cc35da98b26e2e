import { discoveryUrl } from "./discovery.js";

test.each([
  ["https://accounts.google.com", "https://accounts.google.com/.well-known/openid-configuration"],
  ["https://acme.eu.auth0.com/", "https://acme.eu.auth0.com/.well-known/openid-configuration"],
  ["https://kc.example.com/realms/demo", "https://kc.example.com/realms/demo/.well-known/openid-configuration"],
  [
    "https://login.microsoftonline.com/tid/v2.0",
    "https://login.microsoftonline.com/tid/v2.0/.well-known/openid-configuration",
  ],
])("discoveryUrl(%s)", (issuer, expected) => {
  expect(discoveryUrl(issuer).href).toBe(expected);
});
