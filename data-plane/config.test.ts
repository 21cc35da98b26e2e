import { loadProxyConfig, ProxyConfigError } from "./config.js";

const base = { AGENTGATE_PROXY_TOKEN: "proxy-token-0123456789" };

test("write-ahead defaults to state-changing; off is a deliberate choice; anything else is refused with the variable named", () => {
  expect(loadProxyConfig(base).writeAhead).toBe("state-changing");
  expect(loadProxyConfig({ ...base, AGENTGATE_WRITE_AHEAD: "" }).writeAhead).toBe("state-changing");
  expect(loadProxyConfig({ ...base, AGENTGATE_WRITE_AHEAD: "off" }).writeAhead).toBe("off");
  for (const bad of ["OFF", "none", "reads", "0"]) {
    expect(() => loadProxyConfig({ ...base, AGENTGATE_WRITE_AHEAD: bad })).toThrow(ProxyConfigError);
    expect(() => loadProxyConfig({ ...base, AGENTGATE_WRITE_AHEAD: bad })).toThrow(/AGENTGATE_WRITE_AHEAD/);
  }
});
