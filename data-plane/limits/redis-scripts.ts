/**
 * The Lua scripts behind the Redis backend. Each runs atomically on the server, reads the
 * server's clock (`TIME`) so proxies' clocks never matter, and leaves every key with a TTL.
 * Numbers go back to JS as integers or as `%.17g` strings (Lua numbers become truncated integers
 * in Redis replies). Redis >= 6.2 (SET … PXAT / KEEPTTL); scripts replicate by effects (Redis >= 5).
 */
import { COST_EPSILON } from "./validate.js";
import { DAY_MS } from "./utc-day.js";

/** Prelude: `now` = server time in whole milliseconds, plus number formatting. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function num(x) return string.format('%.17g', x) end
`;

/**
 * Lua `civil(day)` → "YYYY-MM-DD" for a day number since the epoch (Howard Hinnant's
 * civil_from_days), so cost keys are named by the server's UTC date. Exported for its test.
 */
export const LUA_CIVIL_DATE = `
local function civil(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02d', y, m, d)
end
`;

const COST_PRELUDE = `${PRELUDE}${LUA_CIVIL_DATE}
local DAY = ${DAY_MS}
local day = math.floor(now / DAY)
local dayKey = KEYS[1] .. ':' .. civil(day)
`;

/**
 * KEYS[1] bucket hash {tk, ts}; ARGV ratePerMinute, burst → {1, 0} | {0, retryAfterMs}.
 * Same arithmetic as LocalLimiter.takeToken. The key expires once the bucket would be full again.
 */
export const TAKE_TOKEN = `${PRELUDE}
local perMs = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[1], 'tk', 'ts')
local tokens = tonumber(st[1])
local ts = tonumber(st[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * perMs)
if tokens < 1 then
  return {0, math.ceil((1 - tokens) / perMs)}
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tk', num(tokens), 'ts', num(math.max(ts, now)))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
return {1, 0}
`;

/**
 * KEYS[1] sorted set of slot ids scored by lease expiry; ARGV max, leaseMs, id →
 * {1, 0} | {0, msUntilEarliestLeaseLapses}. Drops lapsed leases first. An id already present is
 * renewed, so the same script refreshes a held lease; an id that lapsed meanwhile is taken back
 * only if a slot is free. The key expires with its last lease.
 */
export const LEASE_SLOT = `${PRELUDE}
local max = tonumber(ARGV[1])
local expiry = now + tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and redis.call('ZCARD', KEYS[1]) >= max then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(first[2]) - now}
end
redis.call('ZADD', KEYS[1], expiry, ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]))
return {1, 0}
`;

/**
 * KEYS[1] cost base key (the server's UTC date is appended); ARGV amount, budget, minimum →
 * {ok, retryAfterMs, spent, dayKey, reserved}. Same admission rule as validate.reservable. The day key lives
 * one day past its midnight so a run that crosses midnight can still settle into it.
 */
export const RESERVE_COST = `${COST_PRELUDE}
local amount = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local minimum = tonumber(ARGV[3])
local spent = tonumber(redis.call('GET', dayKey) or '0')
local nextDay = (day + 1) * DAY
local reserve = math.min(amount, budget - spent)
if not (spent < budget and reserve + ${COST_EPSILON} >= minimum) then
  return {0, nextDay - now, num(spent), dayKey, '0'}
end
spent = spent + reserve
redis.call('SET', dayKey, num(spent), 'PXAT', nextDay + DAY)
return {1, 0, num(spent), dayKey, num(reserve)}
`;

/**
 * KEYS[1] the day key returned by RESERVE_COST; ARGV delta (actual - reserved) → 1, or 0 if the
 * day key has already expired (nothing left to correct). Never goes below zero; keeps the TTL.
 */
export const SETTLE_COST = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local spent = math.max(0, tonumber(v) + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.17g', spent), 'KEEPTTL')
return 1
`;

/** KEYS[1] cost base key → spent in the server's current UTC day, as a string. */
export const SPENT_TODAY = `${COST_PRELUDE}
return redis.call('GET', dayKey) or '0'
`;
