-- Renews an owner's presence lease and returns the owners whose lease ran out.
-- KEYS: 1 the owners sorted set (score = lease expiry, ms)
-- ARGV: 1 owner, 2 lease ms, 3 most expired owners to return
-- Returns {renewed-was-missing 0|1, {expired owners}}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
return {added, expired}
