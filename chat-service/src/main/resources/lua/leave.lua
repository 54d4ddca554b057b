-- Removes presences of one owner in a room, announcing each user's last leave.
-- KEYS: 1 users hash (user -> presences), 2 the owner's presence set
-- ARGV: 1 channel, 2 user, or '' to remove every user of the owner (a dead node's lease ran out),
--       3 PUBLISH or SPUBLISH (Redis Cluster)
-- Returns the number of leaves announced.
local users
if ARGV[2] == '' then
  users = redis.call('SMEMBERS', KEYS[2])
  redis.call('DEL', KEYS[2])
elseif redis.call('SREM', KEYS[2], ARGV[2]) == 1 then
  users = {ARGV[2]}
else
  users = {}
end
local left = 0
for _, user in ipairs(users) do
  if redis.call('HINCRBY', KEYS[1], user, -1) <= 0 then
    redis.call('HDEL', KEYS[1], user)
    redis.call(ARGV[3], ARGV[1], 'P|leave|' .. redis.call('HLEN', KEYS[1]) .. '|' .. user)
    left = left + 1
  end
end
return left
