-- Takes or renews the feed lease, and reports whether Redis restarted since the holder last
-- looked — in one step, so no other instance's renewal interleaves.
--
-- KEYS[1]  the feed lease (holds the publishing instance's token, with a time to live)
-- KEYS[2]  the Redis run id the publisher saw last
-- ARGV[1]  this instance's token
-- ARGV[2]  the lease's time to live, in milliseconds
-- ARGV[3]  Redis's run id now (from INFO server, read just before)
--
-- Returns {held, redis}: held is 1 when this instance holds the lease after the call, else 0;
-- redis is "same", "new" (no run id recorded: a fresh or flushed Redis) or "changed" (Redis
-- restarted: what it reloaded may be older than what was acknowledged).

local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif holder then
  return {0, 'same'}
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end

local known = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[3])
if not known then
  return {1, 'new'}
elseif known == ARGV[3] then
  return {1, 'same'}
else
  return {1, 'changed'}
end
