import { checkKeyUrl, isLoopbackHost } from "./url-policy.js";

test.each([
  ["localhost", true],
  ["LOCALHOST", true],
  ["127.0.0.1", true],
  ["127.10.20.30", true],
  ["[::1]", true],
  ["app.localhost", false],
  ["127.0.0.1.evil.com", false],
  ["localhost.evil.com", false],
  ["0.0.0.0", false],
  ["10.0.0.1", false],
  ["keycloak", false],
])("isLoopbackHost(%s) = %s", (host, expected) => {
  expect(isLoopbackHost(host)).toBe(expected);
});

test.each([
  ["https://idp.example.com", "never", true],
  ["http://idp.example.com", "never", false],
  ["http://127.0.0.1:8080", "never", false],
  ["http://127.0.0.1:8080", "loopback", true],
  ["http://127.1:8080", "loopback", true], // normalised by the URL parser
  ["http://[::1]:8080/x", "loopback", true],
  ["http://idp.internal", "loopback", false],
  ["http://idp.internal", "any", true],
  ["ftp://idp.example.com", "any", false],
  ["file:///etc/passwd", "any", false],
  ["https://user:pw@idp.example.com", "never", false],
  ["https://idp.example.com/#frag", "never", false],
  ["idp.example.com", "never", false],
] as const)("checkKeyUrl(%s, %s) ok=%s", (url, allow, ok) => {
  expect(checkKeyUrl(url, allow).ok).toBe(ok);
});
