-- pipeline: lesson 12's experiment 1 in Lua. A producer and a consumer, two coroutines.
--
-- Lua's coroutines are asymmetric (非对称协程): coroutine.resume runs one until it calls
-- coroutine.yield, and yield returns to whoever resumed it, never to a coroutine of its
-- choosing (Lua 5.4 manual, 2.6 "Coroutines"; de Moura & Ierusalimschy, "Revisiting
-- Coroutines", ACM TOPLAS 31(2), 2009, which shows asymmetric coroutines can express
-- symmetric ones). So the producer cannot hand an item straight to the consumer: it yields
-- the item to the main program, which resumes the consumer with it, and the consumer's ack
-- comes back the same way. Each one-way hand-off is a yield plus a resume, with no scheduler
-- and no OS thread involved: they are stackful (有栈) but run on the one C stack of the Lua
-- state, each with its own Lua stack (lua_State, lstate.h).
--
-- The clock is os.clock(), the process's CPU time (Lua has no finer wall clock): this loop
-- never waits, so CPU time is the time it took.
-- Runs on Lua 5.4 and LuaJIT 2.1 (Lua 5.1 syntax only).
--
-- Usage: lua5.4|luajit pipeline.lua <trace_n> <timed_n>   (lesson 12's contract, see polyglot.py)

local trace_n, timed_n = tonumber(arg[1]), tonumber(arg[2])
if not trace_n or not timed_n or timed_n < 1 then
  io.stderr:write("usage: pipeline.lua <trace_n> <timed_n>\n")
  os.exit(2)
end
io.stdout:setvbuf("line")

local function round_trips(n, record)
  local producer = coroutine.create(function()
    for i = 0, n - 1 do
      if record then print("produce " .. i) end
      local ack = coroutine.yield(i)   -- hand i over; resumed with the consumer's ack
      assert(ack == i)
    end
  end)
  local consumer = coroutine.create(function(item)
    while true do
      if record then print("consume " .. item) end
      item = coroutine.yield(item)     -- the ack back; resumed with the next item
    end
  end)
  -- the main program is the go-between: asymmetric coroutines return to their resumer
  local _, item = coroutine.resume(producer)
  while coroutine.status(producer) ~= "dead" do
    local _, ack = coroutine.resume(consumer, item)   -- hand-off 1: the item, and its ack back
    _, item = coroutine.resume(producer, ack)         -- hand-off 2: the ack, and the next item
  end
end

round_trips(trace_n, true)
local t0 = os.clock()
round_trips(timed_n, false)
local elapsed = os.clock() - t0
print(string.format("handoff_ns %.1f", elapsed * 1e9 / (2 * timed_n)))
print(string.format("runtime %s, coroutines (resume/yield through the main program), " ..
  "clock: os.clock (CPU time)", jit and jit.version or _VERSION))
